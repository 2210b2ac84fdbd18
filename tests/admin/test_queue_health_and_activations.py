import pytest
from rq import Queue, SimpleWorker, Worker

from smsbulk.errors import BadRequest, UnknownService
from smsbulk.extensions import db, get_redis
from smsbulk.models import Activation
from smsbulk.queues import SERIALIZER
from smsbulk.services import admin_activations, pages, queue_health

SECRET = "Sup3rSecretUpstreamKey"


def test_queue_depth_running_failed_jobs_and_workers_come_from_rqs_registries(app):
    connection = get_redis()
    purchases = Queue("purchases", connection=connection, serializer=SERIALIZER)
    provider = Queue("provider", connection=connection, serializer=SERIALIZER)
    provider.enqueue("builtins.int", f"api_key={SECRET}", job_id="bad-int")
    provider.enqueue("json.loads", "not json", job_id="bad-json")
    SimpleWorker([provider], connection=connection, serializer=SERIALIZER).work(burst=True)
    for n in range(3):
        purchases.enqueue("json.loads", "1", job_id=f"waiting-{n}")
    idle = Worker([purchases], connection=connection, serializer=SERIALIZER, name="idle-worker")
    idle.register_birth()
    try:
        seen = queue_health.snapshot()
    finally:
        idle.register_death()
    by_name = {queue.name: queue for queue in seen.queues}
    assert list(by_name) == ["purchases", "provider", "periodic", "webhooks"]
    assert (by_name["purchases"].waiting, by_name["purchases"].failed) == (3, 0)
    assert by_name["purchases"].oldest_wait_seconds is not None and by_name["purchases"].oldest_wait_seconds < 60
    assert (by_name["provider"].waiting, by_name["provider"].failed) == (0, 2)
    assert by_name["periodic"].oldest_wait_seconds is None
    failed = {job.id: job for job in seen.failed}
    assert set(failed) == {"bad-int", "bad-json"}
    assert (
        failed["bad-json"].error.startswith("json.decoder.JSONDecodeError") and failed["bad-json"].queue == "provider"
    )
    assert failed["bad-int"].function == "builtins.int" and failed["bad-int"].ended_at is not None
    assert SECRET not in failed["bad-int"].error and "[redacted]" in failed["bad-int"].error
    assert [worker.name for worker in seen.workers] == ["idle-worker"]
    assert seen.workers[0].queues == "purchases"


def test_an_empty_redis_is_all_zeros(app):
    seen = queue_health.snapshot()
    assert all((q.waiting, q.running, q.failed, q.scheduled, q.deferred) == (0, 0, 0, 0, 0) for q in seen.queues)
    assert seen.failed == [] and seen.workers == []


def buy(client, account, service="wa", country="TR"):
    answer = client.post(
        "/api/v1/activations", json={"serviceCode": service, "countryIso": country}, headers=account.headers
    )
    assert answer.status_code in (200, 201, 202), answer.json
    return answer.json


def test_every_accounts_activations_newest_first_with_filters(app, client, make_user):
    first, second = make_user(), make_user()
    a = buy(client, first)
    b = buy(client, second, "tg", "US")
    client.post(f"/api/v1/activations/{a['id']}/cancel", headers=first.headers)
    with db.connection_context():
        every = admin_activations.listing()
        assert [row.public_id for row in every.rows] == [b["id"], a["id"]]
        assert every.rows[0].user.email == second.user.email and every.rows[0].provider.name == "simulator"
        assert every.rows[0].user_id == second.user.id and every.rows[0].provider_id is not None
        assert [r.public_id for r in admin_activations.listing(status="canceled").rows] == [a["id"]]
        assert [r.public_id for r in admin_activations.listing(service="tg").rows] == [b["id"]]
        assert [r.public_id for r in admin_activations.listing(country="TR").rows] == [a["id"]]
        assert [r.public_id for r in admin_activations.listing(email=first.user.email).rows] == [a["id"]]
        assert len(admin_activations.listing(provider="simulator").rows) == 2
        assert admin_activations.listing(provider="other").rows == []
        with pytest.raises(BadRequest):
            admin_activations.listing(status="BOGUS")
        with pytest.raises(UnknownService):
            admin_activations.listing(service="nope")


def test_a_page_of_a_large_table_reads_one_row_more_instead_of_counting(app, client, make_user):
    buyer = make_user()
    bought = [buy(client, buyer)["id"] for _ in range(3)]
    newest_first = list(reversed(bought))
    with db.connection_context():
        query = Activation.select().order_by(Activation.id.desc())
        seen = [pages.paginate(query, number, per_page=2, count=False) for number in (1, 2, 3)]
        counted = pages.paginate(query, 9, per_page=2)
    assert [p.public_id for p in seen[0].rows] == newest_first[:2] and seen[0].has_next and not seen[0].has_previous
    assert [p.public_id for p in seen[1].rows] == newest_first[2:] and not seen[1].has_next and seen[1].has_previous
    assert seen[2].rows == [] and seen[0].total is None and seen[0].pages is None
    assert (counted.number, counted.total, counted.pages, counted.has_next) == (
        2,
        3,
        2,
        False,
    )  # past the end: the last
