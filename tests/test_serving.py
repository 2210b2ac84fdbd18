"""The web as an operator runs it: Gunicorn (gevent) from the Procfile, with a worker and cron, on
loopback. Slow clients, requests Gunicorn itself refuses, logs without keys, metrics that move.

One throwaway stack for the module, on SQLite and an embedded Redis: these tests exercise the
serving model and the logs, not the database: they are marked `sqlite_only`, and the PostgreSQL
run of .ci/run deselects them (make test runs them once).
"""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import time
import urllib.request

import pytest

from loadtests import stack
from loadtests.checks import http

pytestmark = pytest.mark.sqlite_only  # one stack on SQLite whatever DATABASE_URL says: run once
LEGACY = "/stubs/handler_api.php"
METRICS_TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def live():
    env = {
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": METRICS_TOKEN,
        "METRICS_PORT": str(stack.free_port()),
    }
    with stack.prepared(env) as running:
        from smsbulk import create_app
        from smsbulk.money import to_money

        previous = {name: os.environ.get(name) for name in ("DATABASE_URL", "REDIS_URL")}
        os.environ.update(DATABASE_URL=running.env["DATABASE_URL"], REDIS_URL=running.env["REDIS_URL"])
        try:
            from loadtests.setup_accounts import create_accounts

            with create_app().app_context():
                ((_, key),) = create_accounts(users=1, keys_per_user=1, balance=to_money("10.00"), quota=10**6)
        finally:
            for name, value in previous.items():
                os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
        running.key = key
        stack.start_service(running)  # after the account: nothing else writes to the database yet
        yield running


def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """One request as raw bytes; the whole answer until the server closes."""
    with socket.create_connection((stack.HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def get(live, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(live.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_slow_header_clients_do_not_starve_the_service(live):
    """64 clients that never finish their headers once held every thread (2 processes x 8)."""
    slow = []
    try:
        for _ in range(64):
            sock = socket.create_connection((stack.HOST, live.port))
            sock.sendall(b"GET /api/v1/wallet/balance HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
            slow.append(sock)
        for _ in range(5):
            started = time.monotonic()
            status, _, body = get(live, f"{LEGACY}?api_key={live.key}&action=getBalance")
            assert (status, body) == (200, b"ACCESS_BALANCE:10.00")
            assert time.monotonic() - started < 2
        slow[0].settimeout(15)
        started = time.monotonic()
        assert slow[0].recv(1024) == b""  # dropped once its time to send the headers is over
        assert time.monotonic() - started < 10
    finally:
        for sock in slow:
            sock.close()


def test_requests_gunicorn_refuses_are_answered_in_the_style_of_their_api(live):
    russia = "Россия".encode()
    legacy = raw(
        live.port,
        b"GET "
        + LEGACY.encode()
        + b"?api_key="
        + live.key.encode()
        + b"&action=getBalance&country="
        + russia
        + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert (
        legacy.startswith(b"HTTP/1.1 200 ") and legacy.endswith(b"\r\n\r\nBAD_DATA") and b"X-Status-Code: 400" in legacy
    )
    long_line = raw(live.port, b"GET /api/v1/activations?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert long_line.startswith(b"HTTP/1.1 414 ") and b"application/json" in long_line and b"<html" not in long_line
    assert json.loads(long_line.split(b"\r\n\r\n", 1)[1])["error"] == "uri_too_long"
    big_header = raw(
        live.port, b"GET /api/v1/wallet/balance HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    )
    assert big_header.startswith(b"HTTP/1.1 431 ") and b'"headers_too_large"' in big_header
    app_long = raw(
        live.port, b"GET /api/v1/wallet/balance?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert app_long.startswith(b"HTTP/1.1 414 ") and b'"uri_too_long"' in app_long


def test_no_log_keeps_an_api_key_after_malformed_requests_carrying_it(live):
    key = live.key.encode()
    for line in (
        b"GET " + LEGACY.encode() + b"?api_key=" + key + b"&action=getBalance&country=\xd0\xa0\xd0\xbe HTTP/1.1",
        b"GET " + LEGACY.encode() + b"?api_key=" + key + b"&action=getBalance HTTP/9.9",
        b"G\x01T " + LEGACY.encode() + b"?api_key=" + key + b" HTTP/1.1",
        b"GET " + LEGACY.encode() + b"?api_key=" + key + b"&x=" + b"y" * 9000 + b" HTTP/1.1",
        b"GET /api/v1/wallet/balance?api_key=" + key + b"&\x7f HTTP/1.1",
    ):
        raw(live.port, line + b"\r\nHost: x\r\n\r\n")
    raw(live.port, b"GET /api/v1/wallet/balance HTTP/1.1\r\nHost: x\r\nx-api-key: " + key + b"\r\nBad Header\r\n\r\n")
    get(live, f"{LEGACY}?api_key={live.key}&action=getStatus&id=abc")
    get(live, "/api/v1/wallet/balance", {"Authorization": f"Bearer {live.key}"})
    time.sleep(1)  # the processes flush their lines
    logs = {path: open(path, encoding="utf-8", errors="replace").read() for path in glob.glob(f"{live.workdir}/*.log")}
    assert {"web.log", "worker.log", "cron.log", "access.log"} <= {os.path.basename(path) for path in logs}
    assert "Invalid request" in logs[f"{live.workdir}/web.log"]
    for path, text in logs.items():
        assert live.key not in text, path


def test_json_access_lines_name_the_request_id_and_the_legacy_action(live):
    status, headers, _ = get(live, f"{LEGACY}?api_key={live.key}&action=getBalance", {"X-Request-Id": "probe-42"})
    assert status == 200 and headers["X-Request-Id"] == "probe-42"
    time.sleep(0.5)
    lines = [json.loads(line) for line in open(f"{live.workdir}/access.log", encoding="utf-8") if line.strip()]
    mine = [line for line in lines if line.get("request_id") == "probe-42"]
    assert mine and mine[0]["action"] == "getBalance" and mine[0]["status"] == 200 and mine[0]["path"] == LEGACY
    assert "api_key" not in json.dumps(mine[0])


def test_a_purchase_moves_the_purchase_counter_of_the_web_and_worker_metrics(live):
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}

    def purchases() -> float:
        _, _, body = get(live, "/metrics", scrape)
        found = re.findall(rb'^smsbulk_purchases_total\{outcome="waiting"\} (\S+)$', body, re.M)
        return float(found[0]) if found else 0.0

    before = purchases()
    status, body = http(
        live.url + "/api/v1/activations", "POST", {"serviceCode": "wa", "countryIso": "TR"}, {"x-api-key": live.key}
    )
    assert status == 201, body
    deadline = time.monotonic() + 10
    while purchases() < before + 1:
        assert time.monotonic() < deadline, "the purchase counter did not move"
        time.sleep(0.2)


def test_the_worker_serves_its_own_figures_on_metrics_port(live):
    url = f"http://{stack.HOST}:{live.env['METRICS_PORT']}/metrics"
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                body = answer.read()
            if b'smsbulk_job_duration_seconds_count{job="poll_statuses",outcome="ok"}' in body:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "no poll_statuses figures from the worker"
        time.sleep(0.5)
