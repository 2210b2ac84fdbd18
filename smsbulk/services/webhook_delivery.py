"""Sending the event log to webhook endpoints: at least once, retried, signed, replayable.

The database is the truth, RQ only carries the work:
- dispatch(user): for each enabled endpoint of the account, the events after its cursor become
  messages (one row per endpoint and event, inserted once whoever races), the cursor moves on,
  and each new message's first attempt is queued. It runs when events commit (services/push.py,
  at the post-commit seam of services/events.py) and from the sweep, so an event whose commit was
  followed by a crash is still sent.
- deliver(message, attempt): claims the attempt (a compare-and-set on the message's attempt
  count, so a doubled job sends once), POSTs the event, records the attempt; a failure
  schedules the next attempt as an RQ job at the time of the retry schedule (0 s, 5 s, 5 min,
  30 min, 2 h, 5 h, 10 h, 10 h: the Standard Webhooks suggestion), and a message whose last
  attempt failed is failed. An endpoint failing without a success for WEBHOOK_DISABLE_AFTER_SECONDS
  (5 days) is disabled, and a `webhook.disabled` event says so.
- sweep(): re-drives what a lost job left behind: endpoints behind the log, and messages whose
  attempt is overdue (its job lost with a Redis restart, its worker killed mid-attempt).
- replay(): sends an endpoint the events after a cursor or time again, as messages of a numbered
  replay, with the same `webhook-id` as the first sending (a receiver that kept it can drop it).
"""

from __future__ import annotations

import datetime
import logging

from flask import current_app

from ..db import write_transaction
from ..errors import BadRequest
from ..models import Event, Webhook, WebhookAttempt, WebhookMessage
from ..models import webhooks as wh
from ..models.base import utcnow
from ..queues import enqueue_webhook_delivery, enqueue_webhook_dispatch, enqueue_webhook_replay
from . import events, webhook_bodies, webhook_transport
from .webhooks import refresh_accounts, wants

log = logging.getLogger(__name__)

BATCH = 500  # events read per step of a dispatch or replay
CLAIM_SECONDS = 60  # an attempt in progress is left alone by the sweep this long (it takes at most ~15 s)
SWEEP_GRACE_SECONDS = 60  # an attempt this late is re-driven by the sweep


def schedule() -> list[float]:
    """Seconds before each attempt: the first is immediate; len() is the number of attempts."""
    return [float(part) for part in current_app.config["WEBHOOK_RETRY_SCHEDULE"].split(",") if part.strip()]


def dispatch(user_id: int) -> int:
    """Turn the account's new events into messages for each enabled endpoint; how many."""
    created = 0
    for webhook in Webhook.select().where((Webhook.user == user_id) & Webhook.enabled):
        created += _dispatch_endpoint(webhook)
    return created


def _dispatch_endpoint(webhook: Webhook) -> int:
    created = 0
    while True:
        rows = list(
            Event.select(Event.id, Event.type)
            .where((Event.user == webhook.user_id) & (Event.id > webhook.cursor))
            .order_by(Event.id)
            .limit(BATCH)
        )
        if not rows:
            return created
        wanted = [row.id for row in rows if wants(webhook, row.type)]
        with write_transaction():
            ids = _new_messages(webhook.id, wanted, replay=0)
            moved = (
                Webhook.update(cursor=rows[-1].id)
                .where((Webhook.id == webhook.id) & (Webhook.cursor < rows[-1].id))
                .execute()
            )
        _queue_first_attempts(ids)
        created += len(ids)
        if not moved or len(rows) < BATCH:
            return created  # another dispatch moved the cursor: it goes on from there
        webhook.cursor = rows[-1].id


def _new_messages(webhook_id: int, event_ids: list[int], replay: int) -> list[int]:
    """Insert the messages not there yet; the ids of those this call inserted."""
    if not event_ids:
        return []
    now = utcnow()
    before = _message_ids(webhook_id, event_ids, replay)
    rows = [
        {"webhook": webhook_id, "event": event_id, "replay": replay, "next_attempt_at": now, "updated_at": now}
        for event_id in event_ids
    ]
    for start in range(0, len(rows), 100):
        WebhookMessage.insert_many(rows[start : start + 100]).on_conflict_ignore().execute()
    return sorted(set(_message_ids(webhook_id, event_ids, replay)) - set(before))


def _message_ids(webhook_id: int, event_ids: list[int], replay: int) -> list[int]:
    query = WebhookMessage.select(WebhookMessage.id).where(
        (WebhookMessage.webhook == webhook_id)
        & (WebhookMessage.event.in_(event_ids))
        & (WebhookMessage.replay == replay)
    )
    return [row.id for row in query]


def _queue_first_attempts(message_ids: list[int]) -> None:
    for message_id in message_ids:
        enqueue_webhook_delivery(message_id, 1, 0)


# One attempt.


def deliver(message_id: int, attempt: int) -> str:
    """Attempt `attempt` of a message, unless another run made it already: 'delivered', 'retry',
    'failed' or 'skipped'."""
    claimed = _claim(message_id, attempt)
    if claimed is None:
        return "skipped"
    webhook, event = claimed.webhook, claimed.event
    if not webhook.enabled:
        _close(claimed, wh.FAILED)
        return "skipped"
    body = webhook_bodies.body_for(webhook, event)
    if body is None:  # nothing this endpoint's format can say about the event
        _close(claimed, wh.DELIVERED)
        return "skipped"
    allow_private = current_app.config["WEBHOOK_ALLOW_PRIVATE"]
    headers = webhook_bodies.signed_headers(webhook, event.id, body)
    outcome = webhook_transport.post(webhook.url, body, headers, allow_private)
    return _record(claimed, attempt, outcome)


def _claim(message_id: int, attempt: int) -> WebhookMessage | None:
    now = utcnow()
    taken = (
        WebhookMessage.update(
            attempts=attempt, next_attempt_at=now + datetime.timedelta(seconds=CLAIM_SECONDS), updated_at=now
        )
        .where(
            (WebhookMessage.id == message_id)
            & (WebhookMessage.state == wh.PENDING)
            & (WebhookMessage.attempts == attempt - 1)
        )
        .execute()
    )
    if not taken:
        return None
    return (
        WebhookMessage.select(WebhookMessage, Webhook, Event)
        .join(Webhook, on=WebhookMessage.webhook == Webhook.id)
        .switch(WebhookMessage)
        .join(Event, on=WebhookMessage.event == Event.id)
        .where(WebhookMessage.id == message_id)
        .get()
    )


def _close(message: WebhookMessage, state: str) -> None:
    WebhookMessage.update(state=state, next_attempt_at=None, updated_at=utcnow()).where(
        WebhookMessage.id == message.id
    ).execute()


def _record(message: WebhookMessage, attempt: int, outcome: webhook_transport.Outcome) -> str:
    """Write the attempt and what follows from it; queue the next attempt after the commit."""
    now, webhook, delays = utcnow(), message.webhook, schedule()
    retry_in = delays[attempt] if not outcome.succeeded and attempt < len(delays) else None
    with write_transaction():
        WebhookAttempt.create(
            webhook=webhook.id,
            message=message.id,
            attempt=attempt,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            response=outcome.response,
            error=outcome.error,
        )
        state = wh.DELIVERED if outcome.succeeded else wh.PENDING if retry_in is not None else wh.FAILED
        next_at = now + datetime.timedelta(seconds=retry_in) if retry_in is not None else None
        WebhookMessage.update(state=state, next_attempt_at=next_at, updated_at=now).where(
            WebhookMessage.id == message.id
        ).execute()
        failing_since = _note_health(webhook, outcome.succeeded, now)
    if retry_in is not None:
        enqueue_webhook_delivery(message.id, attempt + 1, retry_in)
    if failing_since is not None and (now - failing_since).total_seconds() >= _disable_after():
        disable(webhook.id, "failing for 5 days")
    return "delivered" if outcome.succeeded else "retry" if retry_in is not None else "failed"


def _disable_after() -> float:
    return float(current_app.config["WEBHOOK_DISABLE_AFTER_SECONDS"])


def _note_health(webhook: Webhook, succeeded: bool, now: datetime.datetime) -> datetime.datetime | None:
    """A success clears the endpoint's failing streak; a failure starts one if none runs. The
    start of the streak, or None."""
    if succeeded:
        if webhook.failing_since is not None:
            Webhook.update(failing_since=None).where(Webhook.id == webhook.id).execute()
        return None
    if webhook.failing_since is None:
        Webhook.update(failing_since=now).where((Webhook.id == webhook.id) & Webhook.failing_since.is_null()).execute()
        return now
    return webhook.failing_since


def disable(webhook_id: int, reason: str) -> bool:
    """Switch an endpoint off, with a `webhook.disabled` event on its account; once."""
    from ..api.webhook_schemas import WebhookSchema  # the REST representation is the payload

    webhook = Webhook.get_or_none(Webhook.id == webhook_id)
    if webhook is None:
        return False
    with events.recording(webhook.user_id) as recording:
        changed = (
            Webhook.update(enabled=False, disabled_reason=reason[:64], updated_at=utcnow())
            .where((Webhook.id == webhook_id) & Webhook.enabled)
            .execute()
        )
        if changed:
            webhook.enabled, webhook.disabled_reason = False, reason[:64]
            recording.add(webhook.user_id, wh.WEBHOOK_DISABLED, WebhookSchema().dump(webhook))
    if changed:
        log.info("webhook %s disabled: %s", webhook.public_id, reason)
        refresh_accounts([webhook.user_id])
    return bool(changed)


# The sweep and replays.


def sweep(now: datetime.datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Re-drive what lost jobs left behind; refresh the Redis set of accounts with endpoints."""
    now = now or utcnow()
    refresh_accounts()
    newest = Event.select(Event.id).where(Event.user == Webhook.user).order_by(Event.id.desc()).limit(1)
    behind = Webhook.select(Webhook.user).where(Webhook.enabled & (Webhook.cursor < newest)).distinct()
    accounts = [row.user_id for row in behind]
    for user_id in accounts:
        enqueue_webhook_dispatch(user_id, 0)
    overdue = (
        WebhookMessage.select(WebhookMessage.id, WebhookMessage.attempts)
        .where(
            (WebhookMessage.state == wh.PENDING)
            & (WebhookMessage.next_attempt_at < now - datetime.timedelta(seconds=SWEEP_GRACE_SECONDS))
        )
        .order_by(WebhookMessage.next_attempt_at)
        .limit(limit)
    )
    redriven = 0
    for message in overdue:
        enqueue_webhook_delivery(message.id, message.attempts + 1, 0)
        redriven += 1
    return {"accounts": len(accounts), "redriven": redriven}


def request_replay(user_id: int, public_id: str, since: int | datetime.datetime) -> dict:
    """Queue a replay of the endpoint's events after a cursor, or from a time on; its number and
    the range it covers (what commits later is sent as usual)."""
    from .webhooks import get

    webhook = get(user_id, public_id)
    after = since if isinstance(since, int) else _cursor_before(user_id, since)
    if after < 0:
        raise BadRequest("since: a cursor of 0 or more, or a time", field="since")
    upto = Event.select(Event.id).where(Event.user == user_id).order_by(Event.id.desc()).limit(1).scalar() or 0
    with write_transaction():
        Webhook.update(replays=Webhook.replays + 1).where(Webhook.id == webhook.id).execute()
        number = Webhook.select(Webhook.replays).where(Webhook.id == webhook.id).scalar()
    enqueue_webhook_replay(webhook.id, number, after, upto)
    return {"replay": number, "after": after, "upto": upto}


def _cursor_before(user_id: int, moment: datetime.datetime) -> int:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    first = (
        Event.select(Event.id)
        .where((Event.user == user_id) & (Event.created_at >= moment))
        .order_by(Event.id)
        .limit(1)
        .scalar()
    )
    if first is None:
        return Event.select(Event.id).where(Event.user == user_id).order_by(Event.id.desc()).limit(1).scalar() or 0
    return first - 1


def replay(webhook_id: int, number: int, after: int, upto: int) -> int:
    """Messages of replay `number` for the endpoint's events in (after, upto]; how many."""
    webhook = Webhook.get_or_none(Webhook.id == webhook_id)
    created = 0
    while webhook is not None and after < upto:
        rows = list(
            Event.select(Event.id, Event.type)
            .where((Event.user == webhook.user_id) & (Event.id > after) & (Event.id <= upto))
            .order_by(Event.id)
            .limit(BATCH)
        )
        if not rows:
            break
        with write_transaction():
            ids = _new_messages(webhook.id, [row.id for row in rows if wants(webhook, row.type)], number)
        _queue_first_attempts(ids)
        created += len(ids)
        after = rows[-1].id
    return created
