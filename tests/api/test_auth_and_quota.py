import multiprocessing

import pytest


def test_all_three_ways_of_sending_the_key_work(client, make_user):
    account = make_user()
    for kwargs in (
        {"headers": {"x-api-key": account.key}},
        {"headers": {"Authorization": f"Bearer {account.key}"}},
        {"query_string": {"api_key": account.key}},
    ):
        answer = client.get("/api/v1/wallet/balance", **kwargs)
        assert answer.status_code == 200, kwargs
        assert answer.json["balance"] == "10.00"


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "x" * 32}, {"x-api-key": "short"}, {"Authorization": "Bearer "}, {"x-api-key": "é" * 32}],
)
def test_a_missing_or_wrong_key_is_401_with_the_json_error_body(client, headers):
    answer = client.get("/api/v1/wallet/balance", headers=headers)
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_api_key"
    assert answer.json["message"]


def test_a_revoked_key_stops_working(client, make_user, conn):
    from smsbulk.models import ApiKey
    from smsbulk.services import keys

    account = make_user()
    keys.revoke(keys.Actor(account.user.id), ApiKey.get_by_id(account.key_id).public_id)
    assert client.get("/api/v1/wallet/balance", headers=account.headers).status_code == 401


def test_every_response_carries_the_rate_limit_headers(client, make_user):
    account = make_user(quota=5)
    answer = client.get("/api/v1/catalog/services", headers=account.headers)
    assert answer.headers["X-RateLimit-Limit"] == "5"
    assert answer.headers["X-RateLimit-Remaining"] == "4"
    assert answer.headers["X-RateLimit-Reset"].endswith("T00:00:00Z")
    missing = client.get("/api/v1/activations/act_nope", headers=account.headers)
    assert missing.status_code == 404 and missing.headers["X-RateLimit-Remaining"] == "3"


def test_over_the_quota_the_answer_is_429_with_retry_after_and_the_spec_body(client, make_user):
    account = make_user(quota=3)
    for _ in range(3):
        assert client.get("/api/v1/wallet/balance", headers=account.headers).status_code == 200
    answer = client.get("/api/v1/wallet/balance", headers=account.headers)
    assert answer.status_code == 429
    body = answer.json
    assert body["error"] == "rate_limit_exceeded"
    assert body["message"] == "Daily API limit reached"
    assert body["limit"] == 3 and body["usage"] == 3
    assert 0 < body["retryAfter"] <= 86400
    assert answer.headers["Retry-After"] == str(body["retryAfter"])
    assert answer.headers["X-RateLimit-Remaining"] == "0"


def test_keys_current_reports_name_prefix_quota_and_usage(client, make_user):
    account = make_user(quota=100)
    client.get("/api/v1/wallet/balance", headers=account.headers)
    body = client.get("/api/v1/keys/current", headers=account.headers).json
    assert body["prefix"] == account.key[:8]
    assert body["dailyQuota"] == 100
    assert body["usageToday"] == 2 and body["remaining"] == 98
    assert "T00:00:00" in body["resetAt"]


def _hammer(app_config, key, requests, results):
    from smsbulk import create_app

    client = create_app(app_config).test_client()
    ok = sum(
        client.get("/api/v1/wallet/balance", headers={"x-api-key": key}).status_code == 200 for _ in range(requests)
    )
    results.put(ok)


def admitted_when_processes_race(config: dict, key: str, processes: int, requests: int) -> int:
    """How many of `requests` per forked process, each with its own app, were answered 200."""
    from smsbulk.extensions import db

    db.close()
    db.close_all()  # children must not share the parent's connections, pooled ones included
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    workers = [ctx.Process(target=_hammer, args=(config, key, requests, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    return sum(results.get(timeout=5) for _ in workers)


def test_the_quota_is_exact_when_processes_race(app, make_user):
    account = make_user(quota=40)
    assert admitted_when_processes_race(dict(app.config), account.key, 4, 25) == 40


def test_a_quota_of_zero_refuses_every_request(client, make_user):
    account = make_user(quota=0)
    answer = client.get("/api/v1/wallet/balance", headers=account.headers)
    assert answer.status_code == 429 and answer.json["usage"] == 0 and answer.json["limit"] == 0
