"""The worker process: one app, built once, serving every queue."""

from __future__ import annotations

import logging

from rq.worker import HerokuWorker

from smsbulk import create_app
from smsbulk.extensions import get_redis
from smsbulk.queues import SERIALIZER, QueueNames


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    app = create_app()
    with app.app_context():
        worker = HerokuWorker(QueueNames.all(), connection=get_redis(), serializer=SERIALIZER)
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
