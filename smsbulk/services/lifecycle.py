"""Periodic work: poll providers for SMS, expire activations, re-drive stuck purchases."""

from __future__ import annotations

import datetime
import itertools
import logging
from collections import defaultdict

from flask import current_app

from ..compiled import compiled_executemany, compiled_tuples
from ..extensions import db, get_redis
from ..models import Activation, Provider, Sms
from ..models import activations as st
from ..models.base import utcnow
from ..providers import base as pb
from ..queues import enqueue_provider_action, enqueue_purchase
from . import fulfilment, routing
from .activations import _move, close_with_refund

log = logging.getLogger(__name__)

CHUNK = 500  # activations per message query and write transaction (well under SQLite's bound variables)
INSERT_BATCH = 100  # rows per INSERT (5 columns each)
LATE_CUT_KEY = "poll:late-recheck-cut"
LATE_FIRST_WINDOW = datetime.timedelta(minutes=2)  # how far back the very first cycle looks


def poll_once(now: datetime.datetime | None = None) -> dict[str, int]:
    """One upstream status call per provider for all its open activations.

    The entry point of the poll job and of the poll benchmark. Providers whose circuit is open
    are left alone until the cool-down ends (a dead upstream would cost a timeout every cycle);
    their activations are polled again, and can still be cancelled, once it closes. Activations
    refunded here a little while ago are asked about once more, so a late code gets recorded.
    """
    by_provider = _refs_to_poll(now or utcnow())
    counts = {"providers": 0, "messages": 0, "closed": 0, "skipped": 0}
    unhealthy = routing.breaker().open_ids(by_provider)
    for provider in Provider.select().where(Provider.id.in_(list(by_provider))):
        if provider.id in unhealthy:
            counts["skipped"] += 1
            continue
        refs = by_provider[provider.id]
        try:
            answers = routing.adapter_for(provider).statuses(list(refs))
        except pb.ProviderError as exc:
            routing.report(provider, exc)
            log.warning("polling %s failed: %s", provider.name, type(exc).__name__)
            continue
        routing.report(provider, None)
        counts["providers"] += 1
        new, closed = apply_statuses({refs[ref]: answer for ref, answer in answers.items() if ref in refs})
        counts["messages"] += new
        counts["closed"] += closed
    return counts


def _refs_to_poll(now: datetime.datetime) -> dict[int, dict[str, int]]:
    """provider id -> {upstream ref: activation id}, open activations and late re-checks."""
    open_rows = compiled_tuples(
        "open-refs",
        lambda: Activation.select(Activation.id, Activation.provider, Activation.provider_ref).where(
            Activation.status.in_(st.OPEN) & Activation.provider.is_null(False)
        ),
        *st.OPEN,
    )
    by_provider: dict[int, dict[str, int]] = defaultdict(dict)
    for activation_id, provider_id, ref in itertools.chain(open_rows, _late_rechecks(now)):
        by_provider[provider_id][ref] = activation_id
    return by_provider


def _late_rechecks(now: datetime.datetime) -> list[tuple[int, int, str]]:
    """Activations refunded here between the previous cut and LATE_SMS_RECHECK_SECONDS ago.

    Each is polled once: the cut moves on every cycle (kept in Redis, shared by all pollers).
    An SMS that reached the number after our refund is recorded; it charges nothing."""
    cut = now - datetime.timedelta(seconds=current_app.config["LATE_SMS_RECHECK_SECONDS"])
    redis = get_redis()
    previous = redis.get(LATE_CUT_KEY)
    since = datetime.datetime.fromisoformat(previous.decode()) if previous else cut - LATE_FIRST_WINDOW
    redis.set(LATE_CUT_KEY, cut.isoformat(), ex=24 * 3600)
    if since >= cut:
        return []
    query = Activation.select(Activation.id, Activation.provider, Activation.provider_ref).where(
        Activation.status.in_((st.CANCELED, st.EXPIRED))
        & Activation.provider.is_null(False)
        & (Activation.updated_at > since)
        & (Activation.updated_at <= cut)
    )
    return list(query.tuples())


def apply_status(activation_id: int, answer: pb.Status) -> tuple[int, int]:
    """Record new messages once and follow the upstream's final states; returns (new SMS, closed)."""
    return apply_statuses({activation_id: answer})


def apply_statuses(answers: dict[int, pb.Status]) -> tuple[int, int]:
    """apply_status for many activations with set-based message writes; (new SMS, closed)."""
    new = record_batch({activation_id: a.messages for activation_id, a in answers.items() if a.messages})
    closed = sum(_follow_final_state(activation_id, a.state) for activation_id, a in answers.items())
    return new, closed


def _follow_final_state(activation_id: int, state: str) -> int:
    if state == pb.CANCELED:
        # The upstream cancelled (and refunded us): refund here unless a code already came.
        if close_with_refund(activation_id, st.CANCELED, (st.WAITING,)):
            return 1
        return int(_move(activation_id, (st.RECEIVED, st.RETRY), status=st.COMPLETED))
    if state == pb.FINISHED:
        return int(_move(activation_id, (st.RECEIVED, st.RETRY), status=st.COMPLETED))
    return 0


def record_messages(activation_id: int, messages: list[pb.Message]) -> int:
    """Insert unseen messages; a new one on a waiting activation makes it RECEIVED.

    A late code after a refund is recorded but changes nothing: no charge comes back.
    """
    return record_batch({activation_id: messages})


def record_batch(messages: dict[int, list[pb.Message]]) -> int:
    """record_messages for many activations: one query per chunk for the ids already seen,
    bulk inserts, and one compare-and-set per activation that got a new code."""
    total = 0
    ids = list(messages)
    for start in range(0, len(ids), CHUNK):
        chunk = {activation_id: messages[activation_id] for activation_id in ids[start : start + CHUNK]}
        total += _record_chunk(chunk)
    return total


def _record_chunk(messages: dict[int, list[pb.Message]]) -> int:
    # A 500-id IN costs Peewee more to build than the database to run: compiled, for id lists
    # padded to a power of two (a repeated id changes nothing), so a handful of shapes.
    ids = list(messages)
    ids += ids[-1:] * (2 ** (len(ids) - 1).bit_length() - len(ids))
    seen = set(
        compiled_tuples(
            f"seen-messages-{len(ids)}",
            lambda: Sms.select(Sms.activation, Sms.provider_message_id).where(Sms.activation.in_(ids)),
            *ids,
        )
    )
    fresh: dict[int, dict[str, pb.Message]] = defaultdict(dict)
    for activation_id, found in messages.items():
        for message in found:
            if (activation_id, message.id) not in seen:
                fresh[activation_id][message.id] = message
    rows = [
        {"activation": a, "provider_message_id": m.id, "text": m.text, "code": m.code, "received_at": m.received_at}
        for a, by_id in fresh.items()
        for m in by_id.values()
    ]
    if not rows:
        return 0
    now = utcnow()
    coded = []  # the parameters of _code_received(), one row per activation
    for activation_id, by_id in fresh.items():
        latest = max(by_id.values(), key=lambda m: m.received_at)
        if latest.code:
            coded.append((st.RECEIVED, latest.code, now, activation_id, st.WAITING, st.RETRY))
    with db.atomic():
        for start in range(0, len(rows), INSERT_BATCH):
            Sms.insert_many(rows[start : start + INSERT_BATCH]).on_conflict_ignore().execute()
        # A compare-and-set per activation, as _move(); compiled, and sent in one call per chunk.
        compiled_executemany("code-received", _code_received, coded)
    return len(rows)


def _code_received(row: tuple):
    status, code, now, activation_id, *allowed_from = row
    return Activation.update(status=status, sms_code=code, updated_at=now).where(
        (Activation.id == activation_id) & Activation.status.in_(allowed_from)
    )


def expire_due(now: datetime.datetime | None = None) -> dict[str, int]:
    """Lifetime over: refund what got no code, complete what did; each exactly once."""
    now = now or utcnow()
    due = Activation.select(Activation.id, Activation.status).where(
        Activation.status.in_(st.OPEN) & (Activation.expires_at <= now)
    )
    expired = completed = 0
    for row in due:
        if row.status == st.WAITING and close_with_refund(row.id, st.EXPIRED, (st.WAITING,)):
            expired += 1
            enqueue_provider_action(row.id, "cancel")
        elif _move(row.id, (st.RECEIVED, st.RETRY), status=st.COMPLETED):
            completed += 1
            enqueue_provider_action(row.id, "finish")
    return {"expired": expired, "completed": completed}


def sweep_stuck(now: datetime.datetime | None = None) -> dict[str, int]:
    """PENDING too long: never claimed -> enqueue again (same job id); claimed -> refund.

    A claimed purchase whose job died may have bought a number we never recorded; we do not
    buy again: we look for it among the provider's open numbers, else refund and log it.
    """
    now = now or utcnow()
    age = datetime.timedelta(seconds=current_app.config["STUCK_PURCHASE_SECONDS"])
    stuck = Activation.select().where((Activation.status == st.PENDING) & (Activation.created_at <= now - age))
    requeued = failed = 0
    for row in stuck:
        if row.claimed_at is None:
            enqueue_purchase(row.id)
            requeued += 1
        elif fulfilment.resolve_ambiguous(row.id, fulfilment.attempted_provider(row.id))["status"] == st.FAILED:
            failed += 1
    return {"requeued": requeued, "failed": failed}


def provider_action(activation_id: int, action: str) -> str:
    """Tell the upstream about a cancel, finish or request for another code."""
    activation = Activation.get_or_none(Activation.id == activation_id)
    if activation is None or activation.provider_id is None:
        return "skipped"
    adapter = routing.adapter_for(activation.provider)
    method = {"cancel": adapter.cancel, "finish": adapter.finish, "another": adapter.request_another}[action]
    try:
        method(activation.provider_ref)
    except pb.ProviderError as exc:
        routing.report(activation.provider, exc)
        raise  # RQ retries the job on its interval
    routing.report(activation.provider, None)
    return "done"
