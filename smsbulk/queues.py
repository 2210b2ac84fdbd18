"""RQ queues, job paths and the enqueue helpers: deterministic ids, explicit timeouts.

The web process enqueues by dotted path, so it never imports the job code in `workers/`.
"""

from __future__ import annotations

import logging

from flask import current_app
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

from .extensions import get_redis

log = logging.getLogger(__name__)


class QueueNames:
    PURCHASES = "purchases"
    PROVIDER = "provider"
    PERIODIC = "periodic"

    @classmethod
    def all(cls) -> list[str]:
        return [cls.PURCHASES, cls.PROVIDER, cls.PERIODIC]


JOB_FUNCS = {
    "purchase": "workers.tasks.purchase",
    "rent": "workers.tasks.rent",
    "rental_action": "workers.tasks.rental_action",
    "provider_action": "workers.tasks.provider_action",
    "poll_statuses": "workers.tasks.poll_statuses",
    "sync_prices": "workers.tasks.sync_prices",
    "record_keys_last_used": "workers.tasks.record_keys_last_used",
}

SERIALIZER = "rq.serializers.JSONSerializer"


_queues: dict[tuple[int, str, bool], Queue] = {}


def get_queue(name: str) -> Queue:
    """One Queue object per Redis client and name: building one resolves the serializer, which
    costs a purchase more than the enqueue itself."""
    connection = get_redis()
    is_async = current_app.config.get("RQ_ASYNC", True)
    key = (id(connection), name, is_async)
    queue = _queues.get(key)
    if queue is None:
        queue = _queues[key] = Queue(name, connection=connection, serializer=SERIALIZER, is_async=is_async)
    return queue


def _enqueue(queue: str, func: str, job_id: str, *args, **options) -> Job | None:
    try:
        return get_queue(queue).enqueue(func, *args, job_id=job_id, unique=True, **options)
    except DuplicateJobError:
        log.info("job already queued", extra={"job_id": job_id})
        return Job.fetch(job_id, connection=get_redis(), serializer=SERIALIZER)


def enqueue_provider_action(activation_id: int, action: str, attempt_key: str = "") -> Job | None:
    """cancel / finish / another code at the upstream, retried on transient failures. The action
    is also recorded as owed on the row (services/states.py): a job lost here is sent again by the
    recovery pass, with another attempt_key."""
    return _enqueue(
        QueueNames.PROVIDER,
        JOB_FUNCS["provider_action"],
        f"{action}-{activation_id}{attempt_key}",
        activation_id,
        action,
        job_timeout=60,
        result_ttl=300,
        failure_ttl=7 * 24 * 3600,
        retry=Retry(max=5, interval=[5, 15, 60, 120, 300]),
    )


# Periodic jobs: (job name, interval setting or seconds). One id per job, so a poll still
# queued or running is never doubled, and result_ttl=0 frees the id as soon as it succeeds.
# Expiry and the recovery pass are not jobs: the cron process runs them itself (workers/cron.py),
# so they go on while the queue is unreachable or its workers are gone.
PERIODIC = (
    ("poll_statuses", "POLL_INTERVAL_SECONDS"),
    ("sync_prices", 300),
    ("record_keys_last_used", 60),  # from Redis, where requests note it, to the keys' rows
)


def enqueue_periodic(name: str) -> Job | None:
    return _enqueue(
        QueueNames.PERIODIC,
        JOB_FUNCS[name],
        f"periodic-{name}",
        job_timeout=120,
        result_ttl=0,
        failure_ttl=30,
    )
