"""Races that must not lose or create money, on whichever database the suite runs on."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

from smsbulk.extensions import db
from smsbulk.models import Activation, LedgerEntry
from smsbulk.providers.base import Message
from smsbulk.services import lifecycle
from tests.factories import assert_ledger_exact, balance, race

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def price_of(client, account) -> Decimal:
    prices = client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json
    return Decimal(prices[0]["price"])


def test_fifty_parallel_purchases_on_a_wallet_that_affords_ten(app, client, make_user):
    probe = make_user()
    price = price_of(client, probe)
    account = make_user(price * 10)
    barrier = threading.Barrier(50)

    def purchase(_):
        barrier.wait()
        with app.test_client() as own:
            return own.post("/api/v1/activations", json=BUY, headers=account.headers).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(purchase, range(50)))
    assert codes.count(201) == 10, codes
    assert codes.count(402) == 40, codes
    assert balance(account) == Decimal("0.00")
    assert_ledger_exact(account)


def test_cancel_expiry_and_a_late_sms_race_and_refund_at_most_once(app, client, make_user):
    account = make_user("50.00")
    for round_ in range(8):
        bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
        legacy_id = bought["legacyId"]
        later = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=1)
        sms = Message(id=f"race-{round_}", text="code 123456", code="123456", received_at=later)
        race(
            partial(app.test_client().post, f"/api/v1/activations/{bought['id']}/cancel", headers=account.headers),
            partial(lifecycle.expire_due, now=later),
            partial(lifecycle.record_messages, legacy_id, [sms]),
        )
        with db.connection_context():
            activation = Activation.get_by_id(legacy_id)
            refunds = (
                LedgerEntry.select()
                .where((LedgerEntry.activation == legacy_id) & (LedgerEntry.kind == "refund"))
                .count()
            )
        assert refunds == (1 if activation.status in ("CANCELED", "EXPIRED") else 0), activation.status
    assert_ledger_exact(account)


def test_two_refunds_of_one_activation_are_refused_by_the_database(app, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    client.post(f"/api/v1/activations/{bought['id']}/cancel", headers=account.headers)
    from smsbulk.services import wallets

    with db.connection_context():
        activation = Activation.get_by_id(bought["legacyId"])
        assert wallets.refund_for(activation) is False
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def test_the_database_itself_refuses_a_second_refund_row_and_a_negative_balance(app, client, make_user):
    import peewee
    import pytest

    from smsbulk.models import Wallet

    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    client.post(f"/api/v1/activations/{bought['id']}/cancel", headers=account.headers)
    with db.connection_context():
        wallet = Wallet.get(Wallet.user == account.user)
        with pytest.raises(peewee.IntegrityError), db.atomic():
            LedgerEntry.create(
                wallet=wallet, kind="refund", amount=Decimal("0.10"), balance_after=0, activation=bought["legacyId"]
            )
        with pytest.raises(peewee.IntegrityError), db.atomic():
            Wallet.update(balance=Decimal("-0.01")).where(Wallet.id == wallet.id).execute()
