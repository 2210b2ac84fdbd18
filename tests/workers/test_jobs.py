"""Purchase, expiry and sweeper jobs: idempotent, status-guarded, refunding exactly once."""

import datetime
import threading
import time
from decimal import Decimal

from rq import SimpleWorker

from smsbulk.auth import Caller
from smsbulk.extensions import db, get_redis
from smsbulk.models import Activation, Sms
from smsbulk.queues import QueueNames, get_queue
from smsbulk.services import activations, catalog, lifecycle, purchase_job, recovery, routing
from tests.factories import assert_ledger_exact, balance, refunds
from workers import tasks


def pending_activation(app, account) -> int:
    """A PENDING activation with its job queued but not run (as the web leaves it)."""
    app.config["RQ_ASYNC"] = True
    with db.connection_context():
        order = activations.Order(catalog.resolve_service("wa"), catalog.resolve_country("TR"))
        activation = activations.purchase(Caller(account.key_id, account.user.id, 100), order)
    app.config["RQ_ASYNC"] = False
    return activation.id


def bought_upstream() -> int:
    """How many numbers the simulator sold (one order key per purchase attempt that bought)."""
    return len(get_redis().keys("sim:simulator:order:*"))


def status(activation_id: int) -> str:
    with db.connection_context():
        return Activation.get_by_id(activation_id).status


def test_a_purchase_job_run_twice_buys_once(app, make_user):
    account = make_user()
    activation_id = pending_activation(app, account)
    assert tasks.purchase(activation_id)["status"] == "WAITING"
    with db.connection_context():
        first = Activation.get_by_id(activation_id)
    assert tasks.purchase(activation_id)["status"] == "skipped"
    with db.connection_context():
        second = Activation.get_by_id(activation_id)
    assert (first.provider_ref, first.phone_number) == (second.provider_ref, second.phone_number)
    assert bought_upstream() == 1


def test_a_second_job_for_one_purchase_under_a_new_id_and_a_real_worker_buys_once(app, make_user):
    account = make_user()
    activation_id = pending_activation(app, account)
    app.config["RQ_ASYNC"] = True
    again = purchase_job.redrive(activation_id, "r1")
    assert again.id == f"purchase-{activation_id}-r1"
    queue = get_queue(QueueNames.PURCHASES)
    assert queue.count == 2
    SimpleWorker([queue], connection=get_redis(), serializer=queue.serializer).work(burst=True)
    assert status(activation_id) == "WAITING"
    assert bought_upstream() == 1


def test_no_numbers_anywhere_fails_the_purchase_and_refunds_exactly_once(app, make_user):
    account = make_user()
    app.config["SIMULATOR_NO_NUMBERS_RATE"] = 1.0
    routing.reset_caches()
    activation_id = pending_activation(app, account)
    assert tasks.purchase(activation_id)["status"] == "FAILED"
    assert tasks.purchase(activation_id)["status"] == "skipped"
    with db.connection_context():
        assert not any(recovery.recover(now=datetime.datetime(2100, 1, 1)).values())
    assert refunds(activation_id) == 1
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def test_a_purchase_answered_from_its_jobs_outcome_is_the_row_a_read_gives(app, make_user):
    """The web waits on a real worker and renders what the job recorded, without reading it
    back: the answer must be exactly what a GET of the row answers."""
    account = make_user()
    app.config.update(RQ_ASYNC=True, PURCHASE_WAIT_SECONDS=10)
    answers = []

    def post():
        body = {"serviceCode": "wa", "countryIso": "TR"}
        answers.append(app.test_client().post("/api/v1/activations", json=body, headers=account.headers))

    buyer = threading.Thread(target=post)
    buyer.start()
    queue = get_queue(QueueNames.PURCHASES)
    deadline = time.monotonic() + 10
    while queue.count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    app.config["ACTIVATION_LIFETIME_SECONDS"] = 7200  # the job sets a later expiry than the insert did
    SimpleWorker([queue], connection=get_redis(), serializer=queue.serializer).work(burst=True)
    buyer.join(10)
    answer = answers[0]
    assert answer.status_code == 201 and answer.json["status"] == "WAITING" and answer.json["sms"] == []
    read = app.test_client().get(f"/api/v1/activations/{answer.json['id']}", headers=account.headers)
    assert answer.json == read.json
    expires = datetime.datetime.fromisoformat(answer.json["expiresAt"].replace("Z", "+00:00"))
    assert expires - datetime.datetime.now(datetime.UTC) > datetime.timedelta(seconds=7000)
    assert_ledger_exact(account)


def test_a_web_purchase_whose_upstream_errors_answers_failed_with_the_money_back(client, app, make_user):
    account = make_user()
    app.config["SIMULATOR_ERROR_RATE"] = 1.0
    routing.reset_caches()
    answer = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert answer.status_code == 201 and answer.json["status"] == "FAILED"
    assert balance(account) == Decimal("10.00")


def test_expiry_refunds_codeless_activations_once_and_completes_the_others(app, client, make_user):
    account = make_user()
    headers = account.headers
    buy = {"serviceCode": "wa", "countryIso": "TR"}
    quiet = client.post("/api/v1/activations", json=buy, headers=headers).json["legacyId"]
    app.config["SIMULATOR_SMS_DELAY_SECONDS"] = 0
    coded = client.post("/api/v1/activations", json={**buy, "serviceCode": "tg"}, headers=headers).json["legacyId"]
    with db.connection_context():
        row = Activation.get_by_id(coded)
        lifecycle.apply_status(coded, routing.adapter_for(row.provider).statuses([row.provider_ref])[row.provider_ref])
        later = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(hours=1)
        assert lifecycle.expire_due(now=later) == {"expired": 1, "completed": 1}
        assert lifecycle.expire_due(now=later) == {"expired": 0, "completed": 0}
    assert status(quiet) == "EXPIRED" and refunds(quiet) == 1
    assert status(coded) == "COMPLETED" and refunds(coded) == 0
    assert_ledger_exact(account)


def test_a_late_code_after_a_refund_is_neither_recorded_nor_shown_nor_charged(app, client, make_user):
    from smsbulk.providers.base import CANCELED, Message, Status

    account = make_user()
    bought = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    url = f"/api/v1/activations/{bought.json['id']}"
    client.post(f"{url}/cancel", headers=account.headers)
    late = Message(id="late-1", text="code 777777", code="777777", received_at=datetime.datetime(2030, 1, 1))
    with db.connection_context():
        lifecycle.apply_status(bought.json["legacyId"], Status(CANCELED, [late]))
    after = client.get(url, headers=account.headers).json
    assert after["status"] == "CANCELED"
    assert after["sms"] == [] and after["smsCode"] is None
    with db.connection_context():
        assert not Sms.select().where(Sms.activation == bought.json["legacyId"]).exists()
    assert balance(account) == Decimal("10.00")
    assert refunds(bought.json["legacyId"]) == 1
    assert_ledger_exact(account)


def test_a_purchase_whose_job_has_not_run_after_the_whole_wait_answers_pending(client, app, make_user):
    """The wait is a blocking read as long as PURCHASE_WAIT_SECONDS (5 s by default): the Redis
    connection must not time out first (that was a retried TimeoutError and a 500, 15 s later)."""
    account = make_user()
    app.config.update(RQ_ASYNC=True, PURCHASE_WAIT_SECONDS=5)  # the job is queued, and no worker runs it
    started = time.monotonic()
    answer = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert answer.status_code == 202 and answer.json["status"] == "PENDING"
    assert 4.5 < time.monotonic() - started < 8
