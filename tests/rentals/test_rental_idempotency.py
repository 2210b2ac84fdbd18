"""Idempotency-Key on rentals and their extensions, and on reactivation."""

from __future__ import annotations

import datetime
from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import IdempotentRequest, RentalCharge
from smsbulk.models.base import utcnow
from smsbulk.services import idempotency
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


def test_an_extension_retried_after_its_process_died_is_not_paid_again(client, make_user, deliver):
    """The extension was paid and made, but its process died before the answer was stored: the
    idempotency layer lets the retry run again after STALE_CLAIM_SECONDS, and the charge row's
    key keeps it from paying twice."""
    account = make_user("50.00")
    rented = client.post("/api/v1/rentals", json=UK, headers=account.headers)
    deliver()
    extend = f"/api/v1/rentals/{rented.json['id']}/extend"
    keyed = {**account.headers, "Idempotency-Key": "extend-dead"}
    first = client.post(extend, json={"hours": 4}, headers=keyed)
    assert first.status_code == 200, first.json
    long_ago = utcnow() - datetime.timedelta(seconds=idempotency.STALE_CLAIM_SECONDS + 1)
    with db.connection_context():
        IdempotentRequest.update(response_status=None, response_body=None, claimed_at=long_ago).where(
            IdempotentRequest.key == "extend-dead"
        ).execute()
    left = balance(account)
    again = client.post(extend, json={"hours": 4}, headers=keyed)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.json["hours"] == first.json["hours"] and again.json["endsAt"] == first.json["endsAt"]
    assert balance(account) == left
    assert paid_for(rented.json["legacyId"]) == Decimal(first.json["userCost"])
    assert_ledger_exact(account)


def test_an_extension_still_pending_under_the_key_is_in_progress(client, make_user, deliver):
    account = make_user("50.00")
    rented = client.post("/api/v1/rentals", json=UK, headers=account.headers)
    deliver()
    with db.connection_context():
        RentalCharge.create(
            rental=rented.json["legacyId"], seq=1, hours=4, amount=Decimal("1.00"), idempotency_key="extend-pending"
        )
    keyed = {**account.headers, "Idempotency-Key": "extend-pending"}
    answer = client.post(f"/api/v1/rentals/{rented.json['id']}/extend", json={"hours": 4}, headers=keyed)
    assert answer.status_code == 409 and answer.json["error"] == "idempotency_key_in_use"
    assert balance(account) == Decimal("50.00") - Decimal(rented.json["userCost"])
