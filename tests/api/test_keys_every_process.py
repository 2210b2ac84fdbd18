"""A revoked or rotated key is refused by every Gunicorn process within a second.

The server is the real web process (gunicorn.conf.py: a listening socket per process) with the
production key settings: each process trusts its read of a key for 5 s (KEY_CACHE_SECONDS), so
only the change feed (KEY_CHANGES_CHECK_SECONDS) can bring a change in sooner. Kept-alive client
connections are traced to the process serving each one, so the test knows it asked both.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from playhouse.migrations import Runner

from loadtests.stack import free_port, wait_http
from smsbulk.cli import MIGRATIONS
from smsbulk.extensions import db
from tests.factories import make_key

ROOT = Path(__file__).resolve().parents[2]
BALANCE = "/api/v1/wallet/balance"


@pytest.fixture
def web(app, redis_url, tmp_path):
    """Gunicorn with two processes on the test's database and Redis; stopped at the end, and by
    `timeout` after two minutes whatever happens."""
    with db.connection_context():
        Runner(db.obj, MIGRATIONS).up(fake=True)  # the tables came from the models: the same schema
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": redis_url,
        "BIND_HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "ACCESS_LOG": "",
        "KEY_CACHE_SECONDS": "5",
        "KEY_CHANGES_CHECK_SECONDS": "0.5",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with open(tmp_path / "web.log", "wb") as log:
        server = subprocess.Popen(
            ["timeout", "120", gunicorn, "wsgi:app", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=60)
        yield port, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def call(connection: http.client.HTTPConnection, key: str, method: str, path: str, body=None) -> tuple[int, dict]:
    headers = {"x-api-key": key, **({"Content-Type": "application/json"} if body else {})}
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read() or b"{}")


def ask(connection: http.client.HTTPConnection, key: str) -> int:
    return call(connection, key, "GET", BALANCE)[0]


def serving_process(server: subprocess.Popen, port: int) -> dict[int, int]:
    """Client port -> pid of the Gunicorn process holding the other end of that connection."""
    owners = {}
    for process in psutil.Process(server.pid).children(recursive=True):
        for connection in process.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.raddr:
                owners[connection.raddr.port] = process.pid
    return owners


def connections_to_every_process(server, port: int, key: str) -> list[http.client.HTTPConnection]:
    """Kept-alive connections, new ones until both processes serve some (the kernel spreads them)."""
    pool = []
    while len(pool) < 64:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert ask(connection, key) == 200
        pool.append(connection)
        if len(pool) >= 8:
            owners = serving_process(server, port)
            served = {owners.get(c.sock.getsockname()[1]) for c in pool}
            if len(served - {None}) == 2:
                return pool
    raise AssertionError("the kernel never gave a connection to the second process")


def seconds_until_refused(pool, key: str, since: float, limit: float = 5.0) -> list[float]:
    """For each connection, how long after `since` the key was first refused; once refused, it
    must stay refused."""
    refused: dict[int, float] = {}
    while len(refused) < len(pool) and time.monotonic() - since < limit:
        for n, connection in enumerate(pool):
            status = ask(connection, key)
            if n in refused:
                assert status == 401, "a refused key worked again"
            elif status == 401:
                refused[n] = time.monotonic() - since
            else:
                assert status == 200, status
        time.sleep(0.02)
    assert len(refused) == len(pool), f"{len(pool) - len(refused)} connections still accept the key"
    return list(refused.values())


def test_revocation_and_rotation_reach_every_gunicorn_process_within_a_second(web, make_user):
    port, server = web
    owner = make_user()
    manager = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    doomed = make_key(owner.user, name="leaked")
    pool = connections_to_every_process(server, port, doomed.secret)
    assert all(ask(c, doomed.secret) == 200 for c in pool)  # every process has the key cached now
    assert call(manager, owner.key, "DELETE", f"/api/v1/keys/{doomed.public_id}")[0] == 200
    revoked = seconds_until_refused(pool, doomed.secret, time.monotonic())
    assert max(revoked) < 1.0, revoked

    rotated = make_key(owner.user, name="rotated")
    assert all(ask(c, rotated.secret) == 200 for c in pool)
    status, answer = call(manager, owner.key, "POST", f"/api/v1/keys/{rotated.public_id}/rotate", b"{}")
    assert status == 200 and answer["id"] == rotated.public_id
    old_refused = seconds_until_refused(pool, rotated.secret, time.monotonic())
    assert max(old_refused) < 1.0, old_refused
    assert all(ask(c, answer["secret"]) == 200 for c in pool)
    for connection in pool:
        connection.close()
    manager.close()
    print(
        f"revoked key refused everywhere after {max(revoked):.3f} s, rotated-out secret after {max(old_refused):.3f} s"
    )
