"""The purchase job's contract, in one place: its id, how it is enqueued, its typed outcome and
how a buying request waits for it.

The job itself is fulfilment.fulfil (workers.tasks.purchase). RQ only carries it: the database
row says whether a purchase is in flight (services/recovery.py), so a job lost with a worker or a
Redis restart is driven again under a new id, and a duplicate run buys nothing.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import redis
from flask import current_app
from rq.job import Job
from rq.results import Result

from ..extensions import get_redis
from ..queues import JOB_FUNCS, SERIALIZER, QueueNames, get_queue

log = logging.getLogger(__name__)

OPTIONS = {"job_timeout": 60, "result_ttl": 60, "failure_ttl": 7 * 24 * 3600}


@dataclass(frozen=True)
class Outcome:
    """What a run of the purchase job did: the status it left, and the number if it recorded one."""

    status: str
    phone_number: str | None = None
    expires_at: datetime.datetime | None = None

    def to_json(self) -> dict:
        """The job's return value, as RQ's JSON serializer stores it."""
        expires = self.expires_at.isoformat() if self.expires_at is not None else None
        return {"status": self.status, "phone_number": self.phone_number, "expires_at": expires}

    @classmethod
    def from_json(cls, value: dict) -> Outcome:
        expires = value.get("expires_at")
        return cls(
            value["status"],
            value.get("phone_number"),
            datetime.datetime.fromisoformat(expires) if expires else None,
        )


SKIPPED = Outcome("skipped")  # another run has the purchase, or it is no longer PENDING


def job_id(activation_id: int, drive: str = "") -> str:
    """The first job of a purchase is `purchase-<id>`; a re-drive adds its own suffix, so it never
    depends on RQ having freed the first id."""
    return f"purchase-{activation_id}{'-' + drive if drive else ''}"


def enqueue_new(activation_id: int) -> Job:
    """The job of an activation just inserted, whose id no job can have taken: no uniqueness
    check, and RQ's writes (the queue's registration, the job, the push) go out in one pipeline."""
    queue = get_queue(QueueNames.PURCHASES)
    if not current_app.config.get("RQ_ASYNC", True):
        return queue.enqueue(JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id), **OPTIONS)
    with get_redis().pipeline() as pipe:
        job = queue.enqueue(
            JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id), pipeline=pipe, **OPTIONS
        )
        pipe.execute()
    return job


def redrive(activation_id: int, drive: str) -> Job:
    """Another job for a purchase that is not moving (the recovery pass)."""
    queue = get_queue(QueueNames.PURCHASES)
    return queue.enqueue(JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id, drive), **OPTIONS)


def wait(activation_id: int, job: Job | None, seconds: float) -> Outcome | None:
    """The outcome of the purchase's job, or None if it is not done within `seconds` (or Redis
    cannot say: the row stays the truth)."""
    if seconds <= 0:
        return None
    try:
        if job is None:  # a repeated order: wait on the job its first request enqueued, if still there
            job = Job.fetch(job_id(activation_id), connection=get_redis(), serializer=SERIALIZER)
        result = job.latest_result(timeout=max(1, int(round(seconds))))
    except redis.RedisError as exc:
        log.warning("waiting for the purchase of activation %s: %s", activation_id, type(exc).__name__)
        return None
    except Exception:  # noqa: BLE001 - no such job (expired, or run inline): nothing to wait for
        return None
    if result is None or result.type != Result.Type.SUCCESSFUL or not isinstance(result.return_value, dict):
        return None
    return Outcome.from_json(result.return_value)
