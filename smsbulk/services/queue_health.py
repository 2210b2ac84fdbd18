"""Queue health for the operator, read from RQ's own registries in Redis: per queue the jobs
waiting (and how long the oldest has waited), running, scheduled, deferred and failed; the
workers and what each is doing; the latest failed jobs with the last line of their error.

Read here rather than by mounting rq-dashboard: that is a second Flask app with its own settings
and no notion of our sessions, so putting it behind the admin login means wrapping its WSGI app
and keeping its auth and CSRF in step with ours, for pages we need four numbers of. This is one
service call, under the same `admin_required` and layout as every other operator page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from rq import Worker
from rq.job import Job

from ..extensions import get_redis
from ..logs import scrub
from ..models.base import utcnow
from ..queues import SERIALIZER, QueueNames, get_queue
from . import purchase_job

FAILED_SHOWN = 20
ERROR_CHARS = 300


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    oldest_wait_seconds: int | None  # how long the job at the head of the queue has waited
    running: int
    scheduled: int
    deferred: int
    failed: int


@dataclass(frozen=True)
class WorkerState:
    name: str
    state: str
    queues: str
    current_job: str
    last_heartbeat: datetime.datetime | None


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    function: str
    ended_at: datetime.datetime | None
    error: str  # the last line of the traceback, secrets scrubbed


@dataclass(frozen=True)
class Snapshot:
    queues: list[QueueState]
    workers: list[WorkerState]
    failed: list[FailedJob]
    batched: int  # purchases on the batch list, not yet taken by a batch job (purchase_job.py)


def names() -> list[str]:
    return [*QueueNames.all(), QueueNames.WEBHOOKS]


def snapshot() -> Snapshot:
    queues = [get_queue(name) for name in names()]
    failed: list[FailedJob] = []
    states = []
    for queue in queues:
        states.append(_state(queue))
        failed.extend(_failed(queue))
    failed.sort(key=lambda job: job.ended_at or datetime.datetime.min, reverse=True)
    workers = [_worker(worker) for worker in Worker.all(connection=get_redis())]
    return Snapshot(states, sorted(workers, key=lambda w: w.name), failed[:FAILED_SHOWN], purchase_job.waiting())


def _state(queue) -> QueueState:
    head = queue.get_job_ids(0, 0)
    oldest = Job.fetch_many(head, connection=get_redis(), serializer=SERIALIZER)[0] if head else None
    waited = None
    if oldest is not None and oldest.enqueued_at is not None:
        waited = max(0, int((utcnow() - oldest.enqueued_at.replace(tzinfo=None)).total_seconds()))
    return QueueState(
        queue.name,
        queue.count,
        waited,
        queue.started_job_registry.count,
        queue.scheduled_job_registry.count,
        queue.deferred_job_registry.count,
        queue.failed_job_registry.count,
    )


def _failed(queue) -> list[FailedJob]:
    ids = queue.failed_job_registry.get_job_ids(0, FAILED_SHOWN - 1, desc=True)
    jobs = Job.fetch_many(ids, connection=get_redis(), serializer=SERIALIZER)
    return [
        FailedJob(job.id, queue.name, job.func_name or "", _naive(job.ended_at), _last_line(job))
        for job in jobs
        if job is not None
    ]


def _last_line(job: Job) -> str:
    result = job.latest_result()
    text = result.exc_string if result is not None and result.exc_string else ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return scrub(lines[-1])[:ERROR_CHARS] if lines else ""


def _naive(moment: datetime.datetime | None) -> datetime.datetime | None:
    return moment.replace(tzinfo=None) if moment is not None else None


def _worker(worker: Worker) -> WorkerState:
    return WorkerState(
        worker.name,
        str(worker.get_state()),
        ", ".join(worker.queue_names()),
        worker.get_current_job_id() or "",
        _naive(worker.last_heartbeat),
    )
