"""`make run`: the whole service on embedded defaults, in one command, kept running.

Migrates and seeds, prints a demo API key and the dashboard's URL with the demo login, starts
the embedded Redis (when REDIS_URL is unset: smsbulk/embedded_redis.py), then runs the Procfile's
web, worker, webhooks and cron processes and watches them: a process that dies is started again
(after 1 s, doubling up to 30 s while it keeps dying within a minute), and the others go on
serving. The embedded Redis is watched the same way.
Ctrl-C or SIGTERM (to the launcher or its process group) stops every process it started, each
by its process group (SIGTERM, then SIGKILL after 20 s), and the embedded Redis last, with a save.
Webhooks may go to a receiver on this machine (WEBHOOK_ALLOW_PRIVATE=1 unless set otherwise).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from .config import DEFAULT_DATABASE_URL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = ("web", "worker", "webhooks", "cron")
STABLE_SECONDS = 60.0
MAX_BACKOFF = 30.0
STOP_GRACE = 20.0


def procfile() -> dict[str, str]:
    with open(os.path.join(ROOT, "Procfile"), encoding="utf-8") as handle:
        lines = [line.split(":", 1) for line in handle if ":" in line and not line.startswith("#")]
    return {name.strip(): command.strip() for name, command in lines}


def prepare() -> None:
    from . import create_app
    from .cli import DEMO_PASSWORD, demo_account, upgrade

    app = create_app()
    with app.app_context():
        upgrade()
        email, raw_key = demo_account()
    print(f"Demo account: {email} with 10.00 USD", flush=True)
    print(f"API key: {raw_key}", flush=True)
    print(
        f"Dashboard: http://127.0.0.1:{os.environ['PORT']}/dashboard/  log in as {email} / {DEMO_PASSWORD}", flush=True
    )


@dataclass
class Child:
    """One supervised process: how to start it and when it may be started again."""

    name: str
    start: object  # () -> subprocess.Popen
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    due: float = 0.0
    restarts: int = 0

    def launch(self) -> None:
        self.process = self.start()
        self.started_at = time.monotonic()

    def check(self, now: float) -> None:
        """Start it again if it died (not before its back-off has passed)."""
        if self.process is not None and self.process.poll() is None:
            return
        if self.process is not None:
            code = self.process.returncode
            stable = now - self.started_at >= STABLE_SECONDS
            self.backoff = 1.0 if stable else min(MAX_BACKOFF, max(1.0, self.backoff * 2))
            self.due = now + self.backoff
            print(f"launcher: {self.name} exited ({code}); starting it again in {self.backoff:.0f} s", flush=True)
            self.process = None
        if now >= self.due:
            self.restarts += 1
            self.launch()


def _command(name: str, commands: dict[str, str]) -> list[str]:
    return ["/bin/sh", "-c", f"exec {commands[name]}"]


def _terminate(children: list[Child]) -> None:
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(5)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def supervise(children: list[Child], stop: dict) -> None:
    for child in children:
        if child.process is None:
            child.launch()
    while not stop["now"]:
        now = time.monotonic()
        for child in children:
            child.check(now)
        time.sleep(0.5)


def main() -> int:
    os.chdir(ROOT)
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("PORT", "8000")
    os.environ.setdefault("BIND_HOST", "127.0.0.1")
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")  # a developer's receiver listens on localhost
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    redis_child = _embedded_redis() if not os.environ.get("REDIS_URL") else None
    commands = procfile()
    children = [Child(name, lambda name=name: _spawn(name, commands)) for name in SERVICES]
    try:
        prepare()
        print(f"SMSBulk on http://127.0.0.1:{os.environ['PORT']}  (API docs: /api/docs)", flush=True)
        supervise(([redis_child] if redis_child else []) + children, stop)
    finally:
        _terminate(children)
        if redis_child is not None and redis_child.process is not None:
            from . import embedded_redis

            embedded_redis.stop(redis_child.process, os.environ["REDIS_URL"])
    return 0


def _spawn(name: str, commands: dict[str, str]) -> subprocess.Popen:
    """A Procfile process in a process group of its own, so stopping it stops its children."""
    return subprocess.Popen(_command(name, commands), start_new_session=True)


def _embedded_redis() -> Child:
    from . import embedded_redis

    url_holder = {}

    def start() -> subprocess.Popen:
        process, url = embedded_redis.start(os.environ["DATABASE_URL"])
        url_holder["url"] = url
        return process

    child = Child("redis", start)
    child.launch()
    os.environ["REDIS_URL"] = url_holder["url"]
    return child


if __name__ == "__main__":
    sys.exit(main())
