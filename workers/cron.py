"""The cron process: enqueues the periodic jobs of `smsbulk.queues.PERIODIC` on time, and runs
expiry and the recovery pass itself (they must go on when the queue or its workers cannot).
Every second it also starts a purchase batch job if purchases wait on the batch list with none
to take them (purchase_job.kick: the job that held their slot died).

RQ's own CronScheduler enqueues with the pickle serializer only, while every queue here
uses JSON; this loop enqueues through the same helper as the web, with one fixed job id
per periodic job so a slow run is never doubled.

It never exits on a failure of Redis or the database: a tick that fails is logged and the next
one comes after a back-off (1 s, doubling up to 30 s), so an outage of either is ridden out and
work resumes by itself when it ends. SIGTERM stops it between ticks.
"""

from __future__ import annotations

import logging
import signal
import time

import peewee
import redis

from smsbulk import create_app, logs, metrics
from smsbulk.extensions import db
from smsbulk.queues import PERIODIC, enqueue_periodic
from smsbulk.services import lifecycle, purchase_job, recovery, rental_lifecycle

log = logging.getLogger("workers.cron")

OUTAGES = (redis.RedisError, peewee.DatabaseError, peewee.InterfaceError, OSError)
MAX_BACKOFF = 30.0
KICK_SECONDS = 1.0


def interval_of(setting: str | int, config) -> float:
    return float(config[setting] if isinstance(setting, str) else setting)


def run_recovery() -> dict[str, int]:
    """Expiry and the recovery pass, in this process; what they did is counted in the metrics."""
    started = time.perf_counter()
    with db.connection_context():
        expired = {**lifecycle.expire_due(), **rental_lifecycle.expire_due()}
        recovered = {**recovery.recover(), **rental_lifecycle.recover()}
    done = {**expired, **recovered}
    metrics.observe_job("recovery", "ok", time.perf_counter() - started, done)
    if any(done.values()):  # each is something that went wrong elsewhere: worth an operator's look
        log.warning("recovery: %s", ", ".join(f"{name} {count}" for name, count in done.items() if count))
    return done


def tick(due: dict[str, float], config) -> None:
    """Whatever is due now; `due` holds when each task is due next."""
    now = time.monotonic()
    for name, every in PERIODIC:
        if now >= due[name]:
            enqueue_periodic(name)
            due[name] = now + interval_of(every, config)
    if now >= due["recovery"]:
        run_recovery()
        due["recovery"] = now + config["RECOVERY_INTERVAL_SECONDS"]
    if now >= due["batches"]:
        if purchase_job.kick():  # a job died, or all are slower than a slot's life: not always a fault
            metrics.observe_job("recovery", "ok", 0.0, {"batches": 1})
            log.info("purchases waited on the batch list with no batch job holding a slot; one started")
        due["batches"] = now + KICK_SECONDS


def run(max_seconds: float | None = None) -> None:
    app = create_app()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    started = time.monotonic()
    due = {name: 0.0 for name, _ in PERIODIC}
    due["recovery"] = due["batches"] = 0.0
    backoff = 0.0
    with app.app_context():
        while not stop["now"] and (max_seconds is None or time.monotonic() - started < max_seconds):
            try:
                tick(due, app.config)
                backoff = 0.0
            except OUTAGES as exc:
                backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
                log.warning("cron tick failed (%s: %s); next try in %.0f s", type(exc).__name__, exc, backoff)
                _sleep(backoff, stop)
                continue
            _sleep(max(0.1, min(due.values()) - time.monotonic()), stop)


def _sleep(seconds: float, stop: dict) -> None:
    """Sleep, waking early on SIGTERM."""
    end = time.monotonic() + seconds
    while not stop["now"] and time.monotonic() < end:
        time.sleep(max(0.0, min(0.2, end - time.monotonic())))


if __name__ == "__main__":
    logs.configure("cron ")
    try:
        run()
    except KeyboardInterrupt:
        pass
