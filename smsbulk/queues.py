"""RQ queues, job paths and the enqueue helpers: deterministic ids, explicit timeouts.

The web process enqueues by dotted path, so it never imports the job code in `workers/`.
"""

from __future__ import annotations

import datetime
import logging

import redis
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
    # Served by a worker process of its own (Procfile `webhooks`): an endpoint that answers slowly
    # or not at all holds a worker up to 10 s an attempt, and must never delay a purchase.
    WEBHOOKS = "webhooks"

    @classmethod
    def all(cls) -> list[str]:
        """The queues of the `worker` process (the webhooks queue has a process of its own)."""
        return [cls.PURCHASES, cls.PROVIDER, cls.PERIODIC]


JOB_FUNCS = {
    "purchase": "workers.tasks.purchase",
    "purchase_batch": "workers.tasks.purchase_batch",
    "rent": "workers.tasks.rent",
    "rental_action": "workers.tasks.rental_action",
    "provider_action": "workers.tasks.provider_action",
    "poll_statuses": "workers.tasks.poll_statuses",
    "sync_prices": "workers.tasks.sync_prices",
    "record_keys_last_used": "workers.tasks.record_keys_last_used",
    "webhook_sweep": "workers.tasks.webhook_sweep",
    "webhook_dispatch": "workers.tasks.webhook_dispatch",
    "webhook_deliver": "workers.tasks.webhook_deliver",
    "webhook_replay": "workers.tasks.webhook_replay",
    "purge_idempotency_keys": "workers.tasks.purge_idempotency_keys",
}

SERIALIZER = "rq.serializers.JSONSerializer"


_queues: dict[tuple[int, str, bool], Queue] = {}


def get_queue(name: str) -> Queue:
    """One Queue object per Redis connection pool and name: building one resolves the serializer,
    which costs a purchase more than the enqueue itself.

    The queue gets a client of the pool, not this thread's own client (extensions.get_redis): a
    cached queue would keep that client, and the connection it holds, alive after its thread
    ended - one connection per request under a server with a thread per connection, until the
    pool ran out (a MaxConnectionsError, found by the fuzz suite)."""
    pool = get_redis().connection_pool
    is_async = current_app.config.get("RQ_ASYNC", True)
    key = (id(pool), name, is_async)
    queue = _queues.get(key)
    if queue is None:
        connection = redis.Redis(connection_pool=pool)
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
    ("webhook_sweep", 30),  # webhook work a lost job left behind (services/webhook_delivery.py)
    ("purge_idempotency_keys", 3600),  # keys older than IDEMPOTENCY_KEY_HOURS (services/idempotency.py)
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


# Webhooks: a job per delivery attempt, keyed by (message, attempt), so a doubled enqueue is
# refused and a doubled run sends once (the attempt is also claimed in the database).
WEBHOOK_OPTIONS = {"job_timeout": 60, "result_ttl": 60, "failure_ttl": 24 * 3600}


def enqueue_webhook_delivery(message_id: int, attempt: int, delay: float) -> Job | None:
    """Attempt `attempt` of a message, now or in `delay` seconds (RQ's scheduler runs it then)."""
    job_id, func = f"webhook-{message_id}-{attempt}", JOB_FUNCS["webhook_deliver"]
    if delay <= 0:
        return _enqueue(QueueNames.WEBHOOKS, func, job_id, message_id, attempt, **WEBHOOK_OPTIONS)
    try:
        return get_queue(QueueNames.WEBHOOKS).enqueue_in(
            datetime.timedelta(seconds=delay), func, message_id, attempt, job_id=job_id, unique=True, **WEBHOOK_OPTIONS
        )
    except DuplicateJobError:
        return None


def enqueue_webhook_dispatch(user_id: int, newest_event: int) -> Job | None:
    """Send an account's new events to its endpoints (one job per commit; repeats find nothing)."""
    return _enqueue(
        QueueNames.WEBHOOKS,
        JOB_FUNCS["webhook_dispatch"],
        f"webhook-dispatch-{user_id}-{newest_event}",
        user_id,
        job_timeout=120,
        result_ttl=0,
        failure_ttl=3600,
    )


def enqueue_webhook_replay(webhook_id: int, number: int, after: int, upto: int) -> Job | None:
    return _enqueue(
        QueueNames.WEBHOOKS,
        JOB_FUNCS["webhook_replay"],
        f"webhook-replay-{webhook_id}-{number}",
        webhook_id,
        number,
        after,
        upto,
        job_timeout=600,
        result_ttl=3600,
        failure_ttl=24 * 3600,
    )
