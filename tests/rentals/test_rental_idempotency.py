"""Idempotency-Key on rentals and their extensions, and on reactivation."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import assert_ledger_exact, balance
from tests.rentals.conftest import UK, paid_for


def test_a_rental_and_an_extension_are_each_paid_once_per_key(client, make_user, deliver):
    account = make_user("50.00")
    headers = {**account.headers, "Idempotency-Key": "rent-1"}
    rented = client.post("/api/v1/rentals", json=UK, headers=headers)
    assert client.post("/api/v1/rentals", json=UK, headers=headers).data == rented.data
    other = client.post("/api/v1/rentals", json={**UK, "hours": 24}, headers=headers)
    assert other.status_code == 422 and other.json["error"] == "idempotency_key_reused"
    deliver()
    extend = f"/api/v1/rentals/{rented.json['id']}/extend"
    keyed = {**account.headers, "Idempotency-Key": "extend-1"}
    first = client.post(extend, json={"hours": 4}, headers=keyed)
    again = client.post(extend, json={"hours": 4}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert client.post(extend, json={"hours": 8}, headers=keyed).status_code == 422
    assert first.json["hours"] == 8  # extended once: the rental's total is what was paid, once each
    assert paid_for(rented.json["legacyId"]) == Decimal(first.json["userCost"]) > Decimal(rented.json["userCost"])
    assert_ledger_exact(account)


def test_a_reactivation_is_bought_once_per_key(client, make_user, deliver):
    account = make_user("20.00")
    bought = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    deliver()
    client.post(f"/api/v1/activations/{bought.json['id']}/finish", headers=account.headers)
    keyed = {**account.headers, "Idempotency-Key": "again-1"}
    path = f"/api/v1/activations/{bought.json['id']}/reactivate"
    first = client.post(path, json={}, headers=keyed)
    assert first.status_code in (201, 202), first.json
    again = client.post(path, json={}, headers=keyed)
    assert again.data == first.data and again.headers["Idempotent-Replayed"] == "true"
    assert client.post(path, json={"maxPrice": "5.00"}, headers=keyed).status_code == 422
    spent = Decimal(bought.json["userCost"]) + Decimal(first.json["userCost"])
    assert balance(account) == Decimal("20.00") - spent
    assert_ledger_exact(account)
