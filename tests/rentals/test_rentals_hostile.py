"""Hostile and malformed input on the rental and reactivation endpoints: a 4xx in the API's error
shape, never a 500, and no money moved."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import assert_ledger_exact, balance

BAD_PRICES = ["0.235", 0.999, 6.6e16, "1000000", "-1", "NaN", "", True]


@pytest.mark.parametrize("max_price", BAD_PRICES)
def test_a_bad_max_price_is_a_validation_error_everywhere(client, make_user, rent, deliver, max_price):
    account = make_user("20.00")
    rental = rent(account)
    bought = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    deliver()
    client.post(f"/api/v1/activations/{bought.json['id']}/finish", headers=account.headers)
    spent = Decimal("20.00") - balance(account)
    answers = [
        client.post(
            "/api/v1/rentals",
            json={"serviceCode": "wa", "countryIso": "GB", "hours": 4, "maxPrice": max_price},
            headers=account.headers,
        ),
        client.post(
            f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4, "maxPrice": max_price}, headers=account.headers
        ),
        client.post(
            f"/api/v1/activations/{bought.json['id']}/reactivate", json={"maxPrice": max_price}, headers=account.headers
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422 and answer.json["error"] == "validation_error", answer.json
    assert Decimal("20.00") - balance(account) == spent
    assert_ledger_exact(account)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/rentals", "page=99999999999999999999"),
        ("/api/v1/rentals", "status=NOPE"),
        ("/api/v1/rentals/{id}/extension", "hours=abc"),
        ("/api/v1/rentals/{id}/extension", "hours=99999999999999999999"),
        ("/api/v1/rentals/{id}/extension", ""),
        ("/api/v1/catalog/rent-prices", "hours=-4"),
    ],
)
def test_malformed_queries_are_validation_errors(client, make_user, rent, path, query):
    account = make_user("20.00")
    rental = rent(account)
    answer = client.get(f"{path.format(id=rental['id'])}?{query}", headers=account.headers)
    assert answer.status_code == 422 and answer.json["error"] == "validation_error"


@pytest.mark.parametrize("body", [{}, {"hours": "4h"}, {"hours": 4, "extra": 1}, {"hours": 0}, [], "x"])
def test_malformed_extensions_are_refused_and_move_no_money(client, make_user, rent, body):
    account = make_user("20.00")
    rental = rent(account)
    answer = client.post(f"/api/v1/rentals/{rental['id']}/extend", json=body, headers=account.headers)
    assert answer.status_code == 422
    assert balance(account) == Decimal("20.00") - Decimal(rental["userCost"])


@pytest.mark.parametrize("rental_id", ["rnt_%00x", "x" * 300, "-1", "99999999999", "rnt_"])
def test_odd_rental_ids_are_not_found(client, make_user, rental_id):
    answer = client.get(f"/api/v1/rentals/{rental_id}", headers=make_user().headers)
    assert answer.status_code in (404, 422) and answer.json["error"] in (
        "rental_not_found",
        "not_found",
        "validation_error",
    )
