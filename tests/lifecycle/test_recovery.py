"""The recovery pass drives purchases from the database, whatever RQ remembers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import redis

from smsbulk.extensions import db, get_redis
from smsbulk.models import Activation, Provider
from smsbulk.models.base import utcnow
from smsbulk.queues import QueueNames, get_queue
from smsbulk.services import fulfilment, purchase_job, recovery, routing
from tests.factories import assert_ledger_exact, balance, refunds
from tests.workers.test_jobs import bought_upstream, pending_activation, status
from workers import tasks

LATER = datetime.timedelta(minutes=1)


def recover(at: datetime.datetime) -> dict:
    with db.connection_context():
        return recovery.recover(now=at)


def test_a_purchase_whose_job_was_lost_is_driven_again_under_a_new_id_and_bought_once(app, make_user):
    account = make_user()
    activation_id = pending_activation(app, account)
    get_redis().flushdb()  # the job is lost, as after a Redis restart
    assert recover(utcnow())["redriven"] == 0  # not stalled yet
    app.config["RQ_ASYNC"] = True
    assert recover(utcnow() + LATER)["redriven"] == 1
    queue = get_queue(QueueNames.PURCHASES)
    [job_id] = queue.job_ids
    assert job_id.startswith(f"purchase-{activation_id}-r")
    assert recover(utcnow() + LATER)["redriven"] == 0  # touched: the next pass waits
    assert tasks.purchase(activation_id)["status"] == "WAITING"
    assert tasks.purchase(activation_id)["status"] == "skipped"
    assert bought_upstream() == 1
    assert_ledger_exact(account)


def test_a_purchase_past_its_deadline_fails_refunded_and_its_late_job_gives_the_number_back(app, make_user):
    account = make_user()
    activation_id = pending_activation(app, account)
    with db.connection_context():
        provider = Provider.get(Provider.name == "simulator")
        reference = fulfilment.start_attempt(fulfilment._open_order(activation_id), provider)  # calling ...
    deadline = utcnow() + datetime.timedelta(seconds=app.config["PURCHASE_DEADLINE_SECONDS"] + 1)
    assert recover(deadline)["failed"] == 1
    assert status(activation_id) == "FAILED" and refunds(activation_id) == 1
    with db.connection_context():  # ... and its answer comes after the refund
        bought = routing.adapter_for(provider).buy("wa", 62, "any", Decimal("1"), reference)
        outcome = fulfilment.record_number(activation_id, account.user.id, provider, bought, reference)
        row = Activation.get_by_id(activation_id)
    assert outcome.status == "FAILED" and row.phone_number is None and row.attempt_started_at is None
    with db.connection_context():
        assert routing.adapter_for(provider).statuses([bought.ref])[bought.ref].state == "canceled"
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def _died_mid_call(app, account) -> tuple[int, str]:
    """A purchase whose job recorded its attempt and died before (or after) the provider answered."""
    activation_id = pending_activation(app, account)
    with db.connection_context():
        reference = fulfilment.start_attempt(fulfilment._open_order(activation_id), Provider.get(name="simulator"))
    return activation_id, reference


def test_an_attempt_whose_job_died_after_the_sale_is_adopted(app, make_user):
    account = make_user()
    activation_id, reference = _died_mid_call(app, account)
    with db.connection_context():
        sold = routing.adapter_for(Provider.get(name="simulator")).buy("wa", 62, "any", Decimal("1"), reference)
    stale = utcnow() + datetime.timedelta(seconds=app.config["ATTEMPT_TIMEOUT_SECONDS"] + 1)
    assert recover(stale)["adopted"] == 1
    with db.connection_context():
        row = Activation.get_by_id(activation_id)
    assert (row.status, row.provider_ref, row.attempt_started_at) == ("WAITING", sold.ref, None)
    assert bought_upstream() == 1
    assert_ledger_exact(account)


def test_an_attempt_whose_job_died_before_the_sale_is_driven_again(app, make_user):
    account = make_user()
    activation_id, _ = _died_mid_call(app, account)
    stale = utcnow() + datetime.timedelta(seconds=app.config["ATTEMPT_TIMEOUT_SECONDS"] + 1)
    app.config["RQ_ASYNC"] = True
    assert recover(stale)["redriven"] == 1
    assert tasks.purchase(activation_id)["status"] == "WAITING"
    with db.connection_context():
        assert Activation.get_by_id(activation_id).attempts == 2
    assert bought_upstream() == 1


def test_a_rest_purchase_the_queue_cannot_take_answers_202_pending_and_is_driven_later(
    app, client, make_user, monkeypatch
):
    account = make_user()
    app.config["RQ_ASYNC"] = True

    def unreachable(activation_id):
        raise redis.ConnectionError("queue down")

    monkeypatch.setattr(purchase_job, "enqueue_new", unreachable)
    answer = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert answer.status_code == 202 and answer.json["status"] == "PENDING"
    listed = client.get("/api/v1/activations", headers=account.headers).json
    assert [a["id"] for a in listed] == [answer.json["id"]]
    monkeypatch.undo()
    assert recover(utcnow() + LATER)["redriven"] == 1
    assert tasks.purchase(answer.json["legacyId"])["status"] == "WAITING"
    assert_ledger_exact(account)


def test_a_legacy_purchase_the_queue_cannot_take_is_withdrawn_refunded_and_never_fulfilled(
    app, client, make_user, monkeypatch
):
    account = make_user()
    app.config["RQ_ASYNC"] = True
    monkeypatch.setattr(purchase_job, "enqueue_new", lambda _: (_ for _ in ()).throw(redis.ConnectionError("down")))
    answer = client.get(f"/stubs/handler_api.php?api_key={account.key}&action=getNumber&service=wa&country=62")
    assert answer.data == b"NO_NUMBERS"
    with db.connection_context():
        row = Activation.get()
    assert row.status == "WITHDRAWN" and refunds(row.id) == 1
    assert tasks.purchase(row.id)["status"] == "skipped"
    assert recover(utcnow() + LATER) == {"redriven": 0, "adopted": 0, "failed": 0, "released": 0, "actions": 0}
    assert balance(account) == Decimal("10.00")
