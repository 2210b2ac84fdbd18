"""The cron process: enqueues the periodic jobs of `smsbulk.queues.PERIODIC` on time.

RQ's own CronScheduler enqueues with the pickle serializer only, while every queue here
uses JSON; this loop enqueues through the same helper as the web, with one fixed job id
per periodic job so a slow run is never doubled.
"""

from __future__ import annotations

import logging
import signal
import time

from smsbulk import create_app, logs
from smsbulk.queues import PERIODIC, enqueue_periodic

log = logging.getLogger("workers.cron")


def interval_of(setting: str | int, config) -> float:
    return float(config[setting] if isinstance(setting, str) else setting)


def run(max_seconds: float | None = None) -> None:
    app = create_app()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    started = time.monotonic()
    due = {name: 0.0 for name, _ in PERIODIC}
    with app.app_context():
        while not stop["now"] and (max_seconds is None or time.monotonic() - started < max_seconds):
            now = time.monotonic()
            for name, every in PERIODIC:
                if now >= due[name]:
                    enqueue_periodic(name)
                    due[name] = now + interval_of(every, app.config)
            time.sleep(max(0.1, min(due.values()) - time.monotonic()))


if __name__ == "__main__":
    logs.configure("cron ")
    try:
        run()
    except KeyboardInterrupt:
        pass
