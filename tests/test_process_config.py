"""The Procfile, the queues and the job paths agree with each other."""

import importlib
import re
from pathlib import Path

from smsbulk.queues import JOB_FUNCS, PERIODIC, QueueNames

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip())


def test_the_procfile_has_web_worker_webhooks_cron_and_release():
    processes = procfile()
    assert set(processes) == {"web", "worker", "webhooks", "cron", "release"}
    assert "gunicorn wsgi:app" in processes["web"]
    assert "-m workers" in processes["worker"]
    assert processes["webhooks"].strip().endswith("-m workers webhooks")
    assert "db-upgrade" in processes["release"]


def test_every_job_path_resolves_to_a_function():
    for path in JOB_FUNCS.values():
        module, name = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), path


def test_the_worker_serves_every_queue_and_periodic_jobs_are_known():
    source = (ROOT / "workers" / "__main__.py").read_text()
    assert "QueueNames.all()" in source
    assert set(QueueNames.all()) == {"purchases", "provider", "periodic"}
    assert {name for name, _ in PERIODIC} <= set(JOB_FUNCS)


def test_the_webhooks_process_serves_only_the_webhooks_queue():
    from workers.__main__ import queues_and_processes

    assert queues_and_processes(["workers"])[0] == QueueNames.all()
    assert queues_and_processes(["workers", "webhooks"])[0] == [QueueNames.WEBHOOKS]
    assert QueueNames.WEBHOOKS not in QueueNames.all()


def test_the_web_package_never_imports_the_job_code():
    for path in (ROOT / "smsbulk").rglob("*.py"):
        assert not re.search(r"^\s*(from|import) workers", path.read_text(), re.M), path


def test_the_access_log_never_shows_query_strings_where_legacy_keys_travel(tmp_path):
    import datetime
    import logging
    import runpy
    from types import SimpleNamespace

    from gunicorn.config import Config

    from smsbulk.serving import Logger

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["logger_class"] == "smsbulk.serving.Logger"
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    environ = {
        "REMOTE_ADDR": "10.0.0.1",
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/stubs/handler_api.php",
        "QUERY_STRING": "api_key=SECRETSECRETSECRETSECRETSECRET12&action=getStatus&id=7",
        "RAW_URI": "/stubs/handler_api.php?api_key=SECRETSECRETSECRETSECRETSECRET12&action=getStatus&id=7",
        "smsbulk.action": "getStatus",
        "smsbulk.request_id": "req-7",
    }
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        logger = Logger(config)  # it also sends the app's lines to stdout: undone below
        logger.access(SimpleNamespace(status="200 OK", sent=15), None, environ, datetime.timedelta(milliseconds=3))
    finally:
        root.handlers[:], root.level = handlers, level
    line = (tmp_path / "access.log").read_text()
    assert '10.0.0.1 "GET /stubs/handler_api.php" getStatus 200 15 3.0ms req=req-7' in line
    assert "SECRET" not in line and "api_key" not in line


def _gunicorn(port: int, **env: str):
    import os
    import subprocess
    import sys

    command = [str(Path(sys.executable).parent / "gunicorn"), "loadtests.bench_app:app", "--config", "gunicorn.conf.py"]
    environment = {**os.environ, "BIND_HOST": "127.0.0.1", "PORT": str(port), "ACCESS_LOG": "", **env}
    return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_until_served(port: int, process) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def test_each_web_process_takes_its_share_of_a_burst_of_kept_alive_connections():
    """Connections opened at once land on both processes (SO_REUSEPORT), not all on the first to wake."""
    import http.client
    import socket

    from loadtests.stack import free_port

    port = free_port()
    server = _gunicorn(port, WEB_CONCURRENCY="2")
    try:
        _wait_until_served(port, server)
        pids = set()
        for _ in range(5):  # 5 bursts of 16: the chance that one process takes all 80 is 2**-79
            burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
            for sock in burst:
                connection = http.client.HTTPConnection("127.0.0.1", port)
                connection.sock = sock
                connection.request("GET", "/pid")
                pids.add(connection.getresponse().read())
                connection.close()
        assert len(pids) == 2
    finally:
        server.terminate()
        server.wait(15)


def test_a_second_server_on_a_served_port_refuses_to_start():
    from loadtests.stack import free_port

    port = free_port()
    first = _gunicorn(port, WEB_CONCURRENCY="1")
    try:
        _wait_until_served(port, first)
        second = _gunicorn(port, WEB_CONCURRENCY="1")
        output, _ = second.communicate(timeout=20)
        assert second.returncode != 0
        assert b"address already in use" in output
    finally:
        first.terminate()
        first.wait(15)
