"""RQ job functions: ids in, one service call each, under the worker's app context.

Each job logs its outcome (a periodic job only when it did something), and its duration and
result go to the metrics: purchase outcomes, and what the periodic jobs recovered.
"""

from __future__ import annotations

import functools
import logging
import time

from rq import get_current_job

from smsbulk import logs, metrics
from smsbulk.extensions import db
from smsbulk.services import (
    fulfilment,
    idempotency,
    key_usage,
    lifecycle,
    providers,
    purchase_groups,
    purchase_job,
    rental_fulfilment,
    webhook_delivery,
)

log = logging.getLogger("workers.jobs")


class _connection:
    """Open a connection for the job unless the caller (an inline job in a request) has one."""

    def __enter__(self):
        self.opened = db.is_closed()
        if self.opened:
            db.connect()

    def __exit__(self, *exc):
        if self.opened and not db.is_closed():
            db.close()


def _job(name: str, quiet: bool = False):
    """Run a job in its own database connection; log and measure how it ended."""

    def decorate(func):
        @functools.wraps(func)
        def run(*args):
            job = get_current_job()
            token = logs.context.set({"job_id": job.id if job is not None else name})
            started, outcome, result = time.perf_counter(), "error", None
            try:
                with _connection():
                    result = func(*args)
                outcome = "ok"
                return result
            finally:
                seconds = time.perf_counter() - started
                metrics.observe_job(name, outcome, seconds, result)
                log.log(
                    logging.DEBUG if quiet and outcome == "ok" and not _did_something(result) else logging.INFO,
                    "%s %s in %.3f s: %s",
                    name,
                    outcome,
                    seconds,
                    result,
                )
                logs.context.reset(token)

        return run

    return decorate


def _did_something(result) -> bool:
    return isinstance(result, dict) and any(isinstance(v, int) and v > 0 for v in result.values())


@_job("purchase")
def purchase(activation_id: int) -> dict:
    """A purchase's job of its own (a re-drive, smsbulk/services/purchase_job.py): its Outcome."""
    outcome = fulfilment.fulfil(activation_id)
    purchase_job.announce(activation_id, outcome)
    return outcome.to_json()


@_job("purchase_batch", quiet=True)
def purchase_batch(slot: int) -> int:
    """A batch job: how many purchases it took off the batch list, each logged and measured as
    a purchase job is."""
    return purchase_job.drain(slot, _Measured())


class _Measured(purchase_groups.Group):
    """A batch job's buyer whose purchases are logged and measured as purchase jobs are, from
    their start to their outcome (after their group is recorded)."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[int, float] = {}

    def buy(self, activation_id: int) -> purchase_job.Outcome | None:
        self.started[activation_id] = time.perf_counter()
        try:
            outcome = super().buy(activation_id)
        except Exception:
            self._finished(activation_id, "error", None)
            raise
        if outcome is not None:
            self._finished(activation_id, "ok", outcome)
        return outcome

    def record(self) -> list[tuple[int, purchase_job.Outcome]]:
        waiting = list(self.bought)
        try:
            done = super().record()
        except Exception:
            for activation_id in waiting:
                self._finished(activation_id, "error", None)
            raise
        for activation_id, outcome in done:
            self._finished(activation_id, "ok", outcome)
        return done

    def _finished(self, activation_id: int, outcome: str, result: purchase_job.Outcome | None) -> None:
        seconds = time.perf_counter() - self.started.pop(activation_id)
        shown = result.to_json() if result is not None else None
        metrics.observe_job("purchase", outcome, seconds, shown)
        log.info("purchase %s in %.3f s: activation %s %s", outcome, seconds, activation_id, shown)


@_job("rent")
def rent(rental_id: int) -> str:
    """The rental job (smsbulk/services/rental_job.py): the rental's status after it."""
    return rental_fulfilment.fulfil(rental_id)


@_job("rental_action")
def rental_action(rental_id: int, action: str) -> str:
    return rental_fulfilment.provider_action(rental_id, action)


@_job("provider_action")
def provider_action(activation_id: int, action: str) -> str:
    return lifecycle.provider_action(activation_id, action)


@_job("poll_statuses", quiet=True)
def poll_statuses() -> dict:
    return lifecycle.poll_once()


@_job("sync_prices", quiet=True)
def sync_prices() -> dict:
    return providers.sync_prices()


@_job("record_keys_last_used", quiet=True)
def record_keys_last_used() -> int:
    return key_usage.record_last_used()


@_job("webhook_dispatch", quiet=True)
def webhook_dispatch(user_id: int) -> int:
    return webhook_delivery.dispatch(user_id)


@_job("webhook_deliver")
def webhook_deliver(message_id: int, attempt: int) -> str:
    return webhook_delivery.deliver(message_id, attempt)


@_job("webhook_replay")
def webhook_replay(webhook_id: int, number: int, after: int, upto: int) -> int:
    return webhook_delivery.replay(webhook_id, number, after, upto)


@_job("webhook_sweep", quiet=True)
def webhook_sweep() -> dict:
    return webhook_delivery.sweep()


@_job("purge_idempotency_keys", quiet=True)
def purge_idempotency_keys() -> dict:
    return idempotency.purge()
