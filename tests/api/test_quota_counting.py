"""The daily quota counted per process and synced to Redis (smsbulk/quota.py), on a real Redis."""

import os

import pytest
import redis
import redis.backoff
import redis.retry

from smsbulk import auth, quota
from smsbulk.errors import QuotaExceeded
from smsbulk.extensions import get_redis
from tests.api.test_auth_and_quota import admitted_when_processes_race


def counter(account) -> int:
    return int(get_redis().get(quota.counter_key(account.key_id, quota.quota_day())) or 0)


@pytest.fixture
def script_calls(monkeypatch):
    """Scripts this process sends to Redis so far (the server's own command counts would include
    other processes' work on a shared server)."""
    sent = []
    send = redis.Redis.execute_command

    def counted(self, *args, **options):
        if args and str(args[0]).upper() in ("EVALSHA", "EVAL"):
            sent.append(args[0])
        return send(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return lambda: len(sent)


def count(account):
    return quota.count_request(get_redis(), auth.authenticate(account.key, 0))


def test_a_busy_key_is_counted_in_a_round_trip_per_sync_not_per_request(client, make_user, app, script_calls):
    app.config["QUOTA_SYNC_SECONDS"] = 3600  # no sync by time during the test: by batch only
    account = make_user(quota=1_000_000)
    before = script_calls()
    remaining = []
    for _ in range(100):
        answer = client.get("/api/v1/wallet/balance", headers=account.headers)
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(1_000_000 - 1, 1_000_000 - 101, -1))  # one less each time, none skipped
    assert script_calls() - before <= 1 + 100 // app.config["QUOTA_LOCAL_BATCH"]
    quota._counters.sync(get_redis())
    assert counter(account) == 100


def test_what_a_process_admitted_reaches_redis_at_the_next_sync(app, conn, make_user):
    app.config["QUOTA_SYNC_SECONDS"] = 3600
    account = make_user(quota=1_000_000)
    for n in range(1, 8):
        assert count(account).used == n
    assert counter(account) == 1  # the first request read the counter; six are pending
    quota._counters.sync(get_redis())
    assert counter(account) == 7
    assert count(account).used == 8


def test_a_failed_sync_keeps_the_counts_for_the_next_one(app, conn, make_user):
    from loadtests.stack import free_port

    app.config["QUOTA_SYNC_SECONDS"] = 3600
    account = make_user(quota=1_000_000)
    for _ in range(5):
        count(account)
    no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    nobody = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=no_retry)
    with pytest.raises(redis.ConnectionError):
        quota._counters.sync(nobody)
    quota._counters.sync(get_redis())
    assert counter(account) == 5


def test_near_its_quota_a_key_is_checked_in_redis_with_what_is_pending(app, conn, make_user, script_calls):
    app.config.update(QUOTA_SYNC_SECONDS=3600, QUOTA_EXACT_MARGIN=10, QUOTA_LOCAL_BATCH=100)
    account = make_user(quota=30)
    for n in range(1, 21):
        assert count(account).used == n  # 2..20 on its own: 10 or more left after each
    assert counter(account) == 1
    before = script_calls()
    for n in range(21, 31):
        assert count(account).used == n
    assert script_calls() - before == 10 and counter(account) == 30  # the first took the 19 pending along
    with pytest.raises(QuotaExceeded):
        count(account)
    assert counter(account) == 30


def test_a_forked_child_does_not_send_its_parents_pending_counts(app, conn, make_user):
    app.config["QUOTA_SYNC_SECONDS"] = 3600
    account = make_user(quota=1_000_000)
    for _ in range(5):
        count(account)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports by its exit code
        try:
            quota._counters.sync(get_redis())
            os._exit(0 if quota._counters.pending_of(quota.counter_key(account.key_id, quota.quota_day())) == 0 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    quota._counters.sync(get_redis())
    assert counter(account) == 5


def test_above_the_margin_the_quota_still_holds_when_processes_race(app, make_user):
    """4 processes, each admitting up to 5 of the key's requests on its own between syncs."""
    account = make_user(quota=150)
    config = {**app.config, "QUOTA_SYNC_SECONDS": 0.01, "QUOTA_LOCAL_BATCH": 5, "QUOTA_EXACT_MARGIN": 100}
    assert admitted_when_processes_race(config, account.key, 4, 60) == 150
    assert counter(account) == 150  # every admitted request reached Redis when its process exited
