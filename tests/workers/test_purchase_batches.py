"""Purchases travel in batches (smsbulk/services/purchase_job.py): each joins the batch list, and
at most PURCHASE_BATCH_JOBS batch jobs take them off it, one by one. None is left on the list
without a job to take it, none is bought twice, and the purchases of a batch job that died get
a new one from the cron process."""

from __future__ import annotations

import datetime
import re
import threading
import time

from rq import SimpleWorker
from rq.registry import FinishedJobRegistry

from smsbulk.auth import Caller
from smsbulk.extensions import db, get_redis
from smsbulk.models import Activation
from smsbulk.models.base import utcnow
from smsbulk.queues import PERIODIC, QueueNames, get_queue
from smsbulk.services import activations, catalog, purchase_job, recovery
from tests.dashboard.helpers import account as operator
from tests.dashboard.helpers import log_in
from tests.factories import assert_ledger_exact
from workers import cron

OPERATOR = "ops@example.com"


def place(app, account, count: int) -> list[int]:
    """Purchases placed as the web places them, with no worker running."""
    with app.app_context(), db.connection_context():
        order = activations.Order(catalog.resolve_service("wa"), catalog.resolve_country("TR"))
        caller = Caller(account.key_id, account.user.id, 100)
        return [activations.purchase(caller, order).id for _ in range(count)]


def work() -> None:
    queue = get_queue(QueueNames.PURCHASES)
    SimpleWorker([queue], connection=get_redis(), serializer=queue.serializer).work(burst=True)


def statuses(ids: list[int]) -> set[str]:
    with db.connection_context():
        return {row.status for row in Activation.select(Activation.status).where(Activation.id.in_(ids))}


def slots_held() -> list[bytes]:
    return get_redis().keys(f"{purchase_job.BATCH}:slot:*")


def shown_to_the_operator(client) -> tuple[int, int]:
    """Purchases on the batch list: on the operator's queue page, and in the metrics."""
    page = client.get("/dashboard/admin/queues").get_data(as_text=True)
    scraped = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).get_data(as_text=True)
    on_page = re.search(r"<strong data-batched>(\d+)</strong>", page)
    in_metrics = re.search(r"^smsbulk_purchases_batched (\S+)$", scraped, re.M)
    return int(on_page.group(1)), int(float(in_metrics.group(1)))


def bought_upstream() -> int:
    return len(get_redis().keys("sim:simulator:order:*"))


def test_purchases_placed_with_no_worker_share_the_batch_jobs_and_each_is_bought_once(app, client, make_user):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=2, METRICS_TOKEN="s3cret-token")
    operator(OPERATOR, role="admin")
    log_in(client, OPERATOR)
    ids = place(app, account, 5)
    assert get_queue(QueueNames.PURCHASES).count == 2 and purchase_job.waiting() == 5
    assert shown_to_the_operator(client) == (5, 5)
    work()
    assert shown_to_the_operator(client) == (0, 0)
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 5
    assert purchase_job.waiting() == 0 and slots_held() == []
    outcome = purchase_job.wait(ids[-1], 1)
    with db.connection_context():
        row = Activation.get_by_id(ids[-1])
    assert (outcome.status, outcome.phone_number) == ("WAITING", row.phone_number)
    assert purchase_job.wait(ids[-1], 1) == outcome  # announced for every request waiting on it
    assert_ledger_exact(account)


def test_a_batch_job_hands_its_slot_to_a_new_job_after_its_share(app, make_user, monkeypatch):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    monkeypatch.setattr(purchase_job, "BATCH_MAX", 2)
    ids = place(app, account, 5)
    work()
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 5
    assert FinishedJobRegistry(queue=get_queue(QueueNames.PURCHASES)).count == 3  # 2, 2, then 1
    assert slots_held() == []


def test_a_batch_job_that_finds_the_list_empty_waits_for_the_next_purchase_before_it_ends(app, make_user, monkeypatch):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    monkeypatch.setattr(purchase_job, "LINGER_SECONDS", 5.0)
    first = place(app, account, 1)
    later: list[int] = []

    def after_the_first_is_bought():
        with app.app_context():
            assert purchase_job.wait(first[0], 5).phone_number  # the first buyer hears before the wait
            later.extend(place(app, account, 1))  # the slot is still held: no job is queued for it

    placer = threading.Thread(target=after_the_first_is_bought)
    placer.start()
    work()
    placer.join()
    assert statuses(first + later) == {"WAITING"} and bought_upstream() == 2
    assert FinishedJobRegistry(queue=get_queue(QueueNames.PURCHASES)).count == 1  # one job took both
    assert slots_held() == [] and purchase_job.waiting() == 0


def test_a_dead_batch_jobs_purchases_get_a_new_one_from_the_cron_process_once_its_slot_lapses(app, make_user):
    account = make_user()
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    ids = place(app, account, 2)
    get_queue(QueueNames.PURCHASES).empty()  # the job is gone, its slot still held
    assert not purchase_job.kick()  # the slot's job may still be running
    assert 0 < get_redis().ttl(slots_held()[0]) <= purchase_job.SLOT_SECONDS
    get_redis().pexpire(slots_held()[0], 50)
    time.sleep(0.2)
    later = time.monotonic() + 3600
    due = {**{name: later for name, _ in PERIODIC}, "recovery": later, "batches": 0.0}
    cron.tick(due, app.config)
    assert get_queue(QueueNames.PURCHASES).count == 1 and len(slots_held()) == 1
    assert not purchase_job.kick()  # one is enough
    work()
    assert statuses(ids) == {"WAITING"} and purchase_job.waiting() == 0 and slots_held() == []


def test_purchases_placed_while_batch_jobs_run_and_end_are_never_left_without_a_job(app, make_user):
    """The race the scripts close: a purchase joins the list just as the last job finds it empty.
    A last burst of the worker runs only jobs that exist, so a purchase left without one stays."""
    account = make_user("50.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=2)
    placed: list[int] = []
    failed: list[BaseException] = []

    def placer():
        try:
            placed.extend(place(app, account, 10))
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            failed.append(exc)

    placers = [threading.Thread(target=placer) for _ in range(4)]
    for placer in placers:
        placer.start()
    while any(placer.is_alive() for placer in placers):
        work()
    work()
    assert failed == []
    assert len(placed) == 40 and statuses(placed) == {"WAITING"} and bought_upstream() == 40
    assert purchase_job.waiting() == 0 and slots_held() == []
    assert_ledger_exact(account)


def test_a_purchase_that_raises_in_a_batch_stays_pending_for_recovery_and_the_rest_are_bought(
    app, make_user, monkeypatch
):
    from smsbulk.services import fulfilment

    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    ids = place(app, account, 3)
    fulfil = fulfilment.fulfil

    def broken_for_the_second(activation_id, **options):
        if activation_id == ids[1]:
            raise RuntimeError("a bug in one purchase")
        return fulfil(activation_id, **options)

    monkeypatch.setattr(fulfilment, "fulfil", broken_for_the_second)
    work()
    assert [statuses([i]) for i in ids] == [{"WAITING"}, {"PENDING"}, {"WAITING"}]
    assert purchase_job.wait(ids[2], 1).status == "WAITING"  # announced with the take that found none
    assert slots_held() == [] and purchase_job.waiting() == 0
    monkeypatch.undo()
    with db.connection_context():
        assert recovery.recover(now=utcnow() + datetime.timedelta(minutes=1))["redriven"] == 1
    work()
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 3
