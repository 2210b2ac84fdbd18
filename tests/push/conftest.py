"""Fixtures for events, waits and webhooks: a verifying receiver and RQ's scheduled retries.

The suite runs jobs inline (RQ_ASYNC off): a commit's dispatch and first delivery attempts run
in the committing call. A failed attempt schedules the next one in RQ's ScheduledJobRegistry, as
in production; `retries()` runs what is scheduled, as the scheduler would when its time came.
"""

from __future__ import annotations

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from smsbulk.extensions import get_redis
from smsbulk.queues import SERIALIZER, QueueNames, get_queue

from .receiver import Receiver

BUY = {"serviceCode": "wa", "countryIso": "TR"}


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on loopback
    started = Receiver().start()
    yield started
    started.stop()


def retries() -> int:
    """Run every scheduled webhook job now (each may schedule the next); how many ran."""
    registry = ScheduledJobRegistry(queue=get_queue(QueueNames.WEBHOOKS))
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id)
        Job.fetch(job_id, connection=get_redis(), serializer=SERIALIZER).perform()
    return len(ids)


def register(client, account, url: str, **settings) -> dict:
    answer = client.post("/api/v1/webhooks", json={"url": url, **settings}, headers=account.headers)
    assert answer.status_code == 201, answer.json
    return answer.json


def events_of(client, account, **query) -> list[dict]:
    answer = client.get("/api/v1/events", query_string={"limit": 500, **query}, headers=account.headers)
    assert answer.status_code == 200, answer.json
    return answer.json["events"]
