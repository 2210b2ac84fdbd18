"""Money rules of rentals: pro rata for a revoked number, none for an expired one, refused
extensions given back, stuck ones recovered, and every refund once."""

from __future__ import annotations

import datetime
from decimal import Decimal
from functools import partial

import peewee
import pytest

from smsbulk.extensions import db
from smsbulk.models import LedgerEntry, Rental, RentalCharge, Wallet
from smsbulk.models.base import utcnow
from smsbulk.providers.base import Message
from smsbulk.services import rental_lifecycle, rental_states, routing
from tests.factories import assert_ledger_exact, balance, race

from .conftest import paid_for, refunds_of, started_ago

D = Decimal


@pytest.mark.parametrize(
    ("paid", "used_minutes", "refund"),
    [
        (D("1.36"), 60, D("1.02")),  # 3/4 of 1.36 is 1.02 exactly
        (D("1.00"), 1, D("1.00")),  # 0.99583… rounds up to the cent: the customer's favour
        (D("1.00"), 80, D("0.67")),  # 0.6666… rounds up
        (D("4.74"), 240, D("0.00")),  # the whole time used
    ],
)
def test_the_unused_part_is_pro_rata_rounded_up_to_the_cent(paid, used_minutes, refund):
    start = datetime.datetime(2026, 1, 1, 12, 0)
    end = start + datetime.timedelta(hours=4)
    now = start + datetime.timedelta(minutes=used_minutes)
    assert rental_states.unused_part(paid, start, end, now) == refund


def test_a_revoked_number_refunds_the_unused_part_newest_charge_first(client, make_user, rent):
    account = make_user("50.00")
    rental = rent(account)
    client.post(f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4}, headers=account.headers)
    with db.connection_context():
        row = Rental.get_by_id(rental["legacyId"])
        now = row.started_at + datetime.timedelta(hours=2)  # 2 of 8 paid hours used
        revoked = rental_states.move(row.id, row.user_id, "REVOKED", now=now)
    assert revoked.status == "REVOKED"
    paid = paid_for(rental["legacyId"])
    expected = rental_states.unused_part(paid, row.started_at, row.ends_at, now)
    refunds = refunds_of(rental["legacyId"])
    assert sum(refunds) == expected == (paid * 3 / 4).quantize(D("0.01"), rounding="ROUND_CEILING")
    assert refunds[0] == paid - Decimal(rental["userCost"])  # the extension first, all of it
    assert_ledger_exact(account)


def test_the_upstream_taking_a_number_back_revokes_it_at_the_next_poll(app, client, make_user, rent, deliver):
    account = make_user("50.00")
    rental = rent(account, hours=24)
    deliver()
    started_ago(rental["legacyId"], 6 * 60)  # a quarter of the day used
    with db.connection_context():
        row = Rental.get_by_id(rental["legacyId"])
        routing.adapter_for(row.provider).adapter.revoke(row.provider_ref)
    deliver()
    shown = client.get(f"/api/v1/rentals/{rental['id']}", headers=account.headers).json
    assert shown["status"] == "REVOKED" and len(shown["sms"]) == 1  # what it received stays shown
    refund = sum(refunds_of(rental["legacyId"]))
    three_quarters = D(rental["userCost"]) * 3 / 4
    assert three_quarters - D("0.01") <= refund <= three_quarters + D("0.01")
    assert_ledger_exact(account)


def test_a_rental_past_its_time_expires_without_a_refund(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    started_ago(rental["legacyId"], 4 * 60 + 1)
    with db.connection_context():
        assert rental_lifecycle.expire_due() == {"rentals_expired": 1}
        assert rental_lifecycle.expire_due() == {"rentals_expired": 0}
    shown = client.get(f"/api/v1/rentals/{rental['id']}", headers=account.headers).json
    assert shown["status"] == "EXPIRED" and refunds_of(rental["legacyId"]) == []
    extend = client.post(f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4}, headers=account.headers)
    assert extend.status_code == 409 and extend.json["error"] == "rental_over"
    assert_ledger_exact(account)


def test_an_extension_the_upstream_refuses_is_refunded(client, make_user, rent, monkeypatch):
    from smsbulk.providers.base import PermanentProviderError
    from smsbulk.providers.simulator import SimulatorProvider

    account = make_user("20.00")
    rental = rent(account)

    def refuse(self, ref, hours, max_cost):
        raise PermanentProviderError("RENT_DIE")

    monkeypatch.setattr(SimulatorProvider, "extend_rent", refuse)
    refused = client.post(f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4}, headers=account.headers)
    assert refused.status_code == 409 and refused.json["error"] == "rental_over"
    assert balance(account) == D("20.00") - D(rental["userCost"])
    shown = client.get(f"/api/v1/rentals/{rental['id']}", headers=account.headers).json
    assert shown["hours"] == 4 and shown["status"] == "WAITING"
    assert_ledger_exact(account)


def test_an_extension_left_pending_by_a_dead_request_is_refunded_by_recovery(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    with db.connection_context():
        charge = RentalCharge.create(rental=rental["legacyId"], seq=1, hours=4, amount=D("1.00"))
        Wallet.update(balance=Wallet.balance - D("1.00")).where(Wallet.user == account.user).execute()
        wallet = Wallet.get(Wallet.user == account.user)
        LedgerEntry.create(
            wallet=wallet, kind="purchase", amount=D("-1.00"), balance_after=wallet.balance, rental_charge=charge
        )
        RentalCharge.update(created_at=utcnow() - datetime.timedelta(minutes=5)).where(
            RentalCharge.id == charge.id
        ).execute()
        counts = rental_lifecycle.recover()
    assert counts["rentals_extensions_refunded"] == 1
    assert refunds_of(rental["legacyId"]) == [D("1.00")]
    assert_ledger_exact(account)


def test_a_rental_whose_job_died_mid_call_fails_and_is_refunded(app, client, make_user):
    app.config["RQ_ASYNC"] = True  # nothing runs the job: the rental stays PENDING
    app.config["PURCHASE_WAIT_SECONDS"] = 0
    account = make_user("20.00")
    pending = client.post(
        "/api/v1/rentals", json={"serviceCode": "wa", "countryIso": "GB", "hours": 4}, headers=account.headers
    )
    assert pending.status_code == 202 and pending.json["status"] == "PENDING"
    legacy_id = pending.json["legacyId"]
    with db.connection_context():
        Rental.update(attempt_started_at=utcnow() - datetime.timedelta(minutes=2)).where(
            Rental.id == legacy_id
        ).execute()
        assert rental_lifecycle.recover()["rentals_failed"] == 1
        assert Rental.get_by_id(legacy_id).status == "FAILED"
    assert balance(account) == D("20.00")
    assert_ledger_exact(account)


def test_a_pending_rental_not_moving_gets_a_new_job(app, client, make_user):
    app.config["RQ_ASYNC"] = True
    app.config["PURCHASE_WAIT_SECONDS"] = 0
    account = make_user("20.00")
    pending = client.post(
        "/api/v1/rentals", json={"serviceCode": "wa", "countryIso": "GB", "hours": 4}, headers=account.headers
    )
    legacy_id = pending.json["legacyId"]
    app.config["RQ_ASYNC"] = False  # the new job runs at once
    with db.connection_context():
        Rental.update(updated_at=utcnow() - datetime.timedelta(minutes=1)).where(Rental.id == legacy_id).execute()
        assert rental_lifecycle.recover()["rentals_redriven"] == 1
        assert Rental.get_by_id(legacy_id).status == "WAITING"


def test_the_database_refuses_a_second_refund_of_one_charge(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    client.post(f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers)
    with db.connection_context():
        charge = RentalCharge.get(RentalCharge.rental == rental["legacyId"])
        wallet = Wallet.get(Wallet.user == account.user)
        with pytest.raises(peewee.IntegrityError), db.atomic():
            LedgerEntry.create(wallet=wallet, kind="refund", amount=D("0.10"), balance_after=0, rental_charge=charge)
    assert balance(account) == D("20.00")


def test_a_race_of_cancel_sms_and_expiry_on_one_rental_refunds_at_most_once(app, client, make_user, rent):
    account = make_user("80.00")
    outcomes = set()
    for round_ in range(8):
        rental = rent(account)
        later = utcnow() + datetime.timedelta(hours=5)
        sms = Message(id=f"race-{round_}", text="code 123456", code="123456", received_at=utcnow())
        race(
            partial(app.test_client().post, f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers),
            partial(rental_lifecycle.expire_due, now=later),
            partial(rental_lifecycle.record_messages, {rental["legacyId"]: [sms]}),
        )
        with db.connection_context():
            status = Rental.get_by_id(rental["legacyId"]).status
        outcomes.add(status)
        refunds = refunds_of(rental["legacyId"])
        assert refunds == ([D(rental["userCost"])] if status == "CANCELED" else []), status
    assert outcomes <= {"CANCELED", "EXPIRED", "RECEIVED"}
    assert_ledger_exact(account)
