"""App-level operations: request ids, security headers, CORS, health, readiness and metrics."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import subprocess
import sys
import time

import pytest
from playhouse.migrations import Runner

from loadtests.stack import free_port
from smsbulk import health
from smsbulk.cli import MIGRATIONS
from smsbulk.extensions import db
from workers.tasks import poll_statuses

PATH = "/stubs/handler_api.php"


def test_every_answer_carries_a_request_id_taken_from_a_proxy_when_it_is_sane(client, make_user):
    account = make_user()
    fresh = client.get("/api/v1/wallet/balance", headers=account.headers)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-Id"])
    given = client.get("/api/v1/wallet/balance", headers={**account.headers, "X-Request-Id": "router-123.abc"})
    assert given.headers["X-Request-Id"] == "router-123.abc"
    hostile = client.get("/api/v1/wallet/balance", headers={**account.headers, "X-Request-Id": "a b<script>"})
    assert hostile.headers["X-Request-Id"] != "a b<script>"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get(PATH).headers["X-Request-Id"])


def test_key_bearing_answers_are_never_cached_or_sniffed(client, make_user):
    account = make_user()
    for response in (
        client.get("/api/v1/wallet/balance", headers=account.headers),
        client.get("/api/v1/wallet/balance"),  # a 401 too
        client.get(PATH, query_string={"api_key": account.key, "action": "getBalance"}),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_docs_page_may_run_only_its_own_scripts_and_never_in_a_frame(client):
    page = client.get("/api/docs")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and page.headers["X-Frame-Options"] == "DENY"
    assert (
        "script-src 'self' 'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    inline = re.search(rb"<script>(.*?)</script>", page.data, re.S).group(1)
    assert base64.b64encode(hashlib.sha256(inline).digest()).decode() in policy


def test_without_configured_origins_no_cors_is_offered_but_preflights_need_no_key(client):
    preflight = client.options(
        "/api/v1/wallet/balance",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_configured_origins_get_cors_with_the_rate_limit_headers_exposed(app, client, make_user):
    app.config["CORS_ORIGINS"] = ["https://app.example"]
    account = make_user()
    preflight = client.options(
        "/api/v1/activations",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    answer = client.get("/api/v1/wallet/balance", headers={**account.headers, "Origin": "https://app.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-RateLimit-Remaining" in answer.headers["Access-Control-Expose-Headers"]
    assert "Origin" in answer.headers.getlist("Vary")
    other = client.get("/api/v1/wallet/balance", headers={**account.headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_health_and_readiness_answer_without_a_key(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ok"}


@contextlib.contextmanager
def database_gone(app):
    """The database vanishes under the running app: its SQLite file is moved away, or the pool is
    pointed at a PostgreSQL database that does not exist."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = url[len("sqlite:///") :]
        os.rename(path, path + ".moved")
        try:
            yield
        finally:
            os.rename(path + ".moved", path)
        return
    real = db.obj.database
    db.obj.close_all()
    db.obj.database = "smsbulk_no_such_database"
    try:
        yield
    finally:
        db.obj.close_all()
        db.obj.database = real


def test_readiness_names_a_missing_database(app, client):
    with database_gone(app):
        started = time.monotonic()
        answer = client.get("/readyz")
        assert answer.status_code == 503 and "does not exist" in answer.json["problems"]["database"]
        assert time.monotonic() - started < 5
        assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_readiness_names_unapplied_migrations_and_the_web_refuses_to_start(app, client):
    from smsbulk.extensions import db

    with db.connection_context():
        history = Runner(db.obj, MIGRATIONS).History
        history.delete().where(history.name == "0002_event_log").execute()
    health._migrated.clear()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503 and "0002_event_log" in answer.json["problems"]["database"]
        app.config["STARTUP_WAIT_SECONDS"] = 0
        with pytest.raises(RuntimeError, match="cannot start: database: migrations not applied: 0002_event_log"):
            health.require_database(app)
    finally:
        with db.connection_context():
            Runner(db.obj, MIGRATIONS).fake()  # the PostgreSQL schema outlives this test


def test_readiness_turns_503_when_redis_stops_and_200_when_it_is_back(app, client, tmp_path):
    port = free_port()
    server_bin = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "redis-server")
    command = [server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        _until(lambda: client.get("/readyz").status_code == 200)
        server.terminate()
        server.wait(10)
        started = time.monotonic()
        answer = client.get("/readyz")
        assert answer.status_code == 503 and "redis" in answer.json["problems"]
        assert time.monotonic() - started < 5
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tmp_path)
        _until(lambda: client.get("/readyz").status_code == 200)
    finally:
        server.terminate()
        server.wait(10)


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}\{{([^}}]*)\}} (\S+)$", re.M)
    total = 0.0
    for found, value in pattern.findall(text):
        if all(part in found.split(",") for part in wanted.split(",") if part):
            total += float(value)
    return total


def test_metrics_need_the_token_and_count_requests_and_purchases(app, client, make_user):
    assert client.get("/metrics").status_code == 404  # no token set: off
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    scrape = {"Authorization": "Bearer s3cret-token"}
    before = client.get("/metrics", headers=scrape).get_data(as_text=True)
    account = make_user()
    bought = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert bought.status_code == 201
    client.get(PATH, query_string={"api_key": account.key, "action": "getStatus", "id": bought.json["legacyId"]})
    poll_statuses()
    after = client.get("/metrics", headers=scrape).get_data(as_text=True)
    assert (
        metric(after, "smsbulk_purchases_total", outcome="waiting")
        == metric(before, "smsbulk_purchases_total", outcome="waiting") + 1
    )
    assert metric(after, "smsbulk_http_requests_total", route="/api/v1/activations", method="POST", status="201") >= 1
    assert metric(after, "smsbulk_http_requests_total", action="getStatus", status="200") >= 1
    assert metric(after, "smsbulk_job_duration_seconds_count", job="poll_statuses", outcome="ok") >= 1
    assert 'smsbulk_queue_jobs{queue="purchases",state="queued"}' in after
    assert 'smsbulk_provider_circuit_open{provider="simulator"} 0.0' in after
