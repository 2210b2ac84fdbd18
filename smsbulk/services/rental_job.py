"""The rental job's contract, as purchase_job.py is the purchase job's: its ids, how it is
enqueued, how a renting request waits for it; and the upstream finish/cancel of a rental.

The job itself is rental_fulfilment.fulfil (workers.tasks.rent). The rental row says whether a
rental is in flight (rental_lifecycle.recover), so a job lost with a worker is driven again
under a new id, and a duplicate run rents nothing.
"""

from __future__ import annotations

import logging

import redis
from flask import current_app
from rq import Retry
from rq.job import Job
from rq.results import Result

from ..queues import JOB_FUNCS, QueueNames, get_queue

log = logging.getLogger(__name__)

OPTIONS = {"job_timeout": 60, "result_ttl": 60, "failure_ttl": 7 * 24 * 3600}


def job_id(rental_id: int, drive: str = "") -> str:
    return f"rent-{rental_id}{'-' + drive if drive else ''}"


def enqueue(rental_id: int, drive: str = "") -> Job | None:
    """The rental's job (a re-drive under its own id); None when the queue cannot be reached:
    the row is committed, the recovery pass drives it."""
    try:
        return get_queue(QueueNames.PURCHASES).enqueue(
            JOB_FUNCS["rent"], rental_id, job_id=job_id(rental_id, drive), **OPTIONS
        )
    except redis.RedisError as exc:
        log.warning("rental %s: not queued (%s); recovery will drive it", rental_id, type(exc).__name__)
        return None


def wait(job: Job | None, seconds: float) -> bool:
    """Wait up to `seconds` for the job; whether it finished (the row then says how)."""
    if job is None or seconds <= 0 or not current_app.config.get("RQ_ASYNC", True):
        return job is not None  # an inline job has run already
    try:
        result = job.latest_result(timeout=max(1, int(round(seconds))))
    except redis.RedisError as exc:
        log.warning("waiting for rental job %s: %s", job.id, type(exc).__name__)
        return False
    return result is not None and result.type == Result.Type.SUCCESSFUL


def send_action(rental_id: int, action: str, attempt_key: str = "") -> None:
    """Tell the upstream a rental was finished or cancelled (recorded as owed on the row first:
    the recovery pass sends again what stays owed)."""
    try:
        get_queue(QueueNames.PROVIDER).enqueue(
            JOB_FUNCS["rental_action"],
            rental_id,
            action,
            job_id=f"rental-{action}-{rental_id}{attempt_key}",
            job_timeout=60,
            result_ttl=300,
            failure_ttl=7 * 24 * 3600,
            retry=Retry(max=5, interval=[5, 15, 60, 120, 300]),
        )
    except redis.RedisError as exc:
        log.warning("rental %s: %s not queued (%s); recovery will send it", rental_id, action, type(exc).__name__)
