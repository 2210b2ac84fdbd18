"""Periodic work: poll providers for SMS, expire activations, deliver owed upstream actions."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterator

from ..compiled import compiled_insert_many, compiled_rows, compiled_tuples, padded
from ..models import Activation, Provider, Sms
from ..models import activations as st
from ..models.base import utcnow
from ..providers import base as pb
from . import events, health, rental_lifecycle, routing, states
from .activations import send_provider_action

log = logging.getLogger(__name__)

CHUNK = 500  # activations per message query and write transaction (well under SQLite's bound variables)
INSERT_BATCH = 100  # rows per INSERT (5 columns each)
FINAL = (pb.CANCELED, pb.FINISHED)  # upstream states that close an activation here


def poll_once(now: datetime.datetime | None = None) -> dict[str, int]:
    """One upstream status call per provider for all its open activations.

    The entry point of the poll job and of the poll benchmark. Providers whose circuit is open
    are left alone until the cool-down ends (a dead upstream would cost a timeout every cycle);
    their activations are polled again, and can still be cancelled, once it closes.
    """
    by_provider = _refs_to_poll()
    unhealthy = health.open_ids(by_provider)
    counts = {"providers": 0, "messages": 0, "closed": 0, "skipped": len(unhealthy)}
    for answers in ask_each(by_provider, unhealthy, "statuses"):
        counts["providers"] += 1
        new, closed = apply_statuses(answers)
        counts["messages"] += new
        counts["closed"] += closed
    return {**counts, **rental_lifecycle.poll()}  # rentals are polled in the same cycle


def ask_each(by_provider: dict[int, dict[str, int]], unhealthy: set[int], call: str) -> Iterator[dict]:
    """One call per provider (the adapter method `call`) about all its refs ({provider id: {ref:
    our id}}); each provider's answers keyed by our ids. Providers in `unhealthy` (an open
    circuit) are left alone until the cool-down ends: a dead upstream would cost a timeout every
    cycle. Activations and rentals are polled through it, in the same cycle."""
    for provider in Provider.select().where(Provider.id.in_([p for p in by_provider if p not in unhealthy])):
        refs = by_provider[provider.id]
        try:
            answers = getattr(routing.adapter_for(provider), call)(list(refs))
        except pb.ProviderError as exc:
            log.warning("polling %s failed: %s", provider.name, type(exc).__name__)
            continue
        yield {refs[ref]: answer for ref, answer in answers.items() if ref in refs}


def open_refs():
    """(id, provider, upstream ref) of the open activations: what a poll cycle asks about."""
    return Activation.select(Activation.id, Activation.provider, Activation.provider_ref).where(
        Activation.status.in_(st.OPEN) & Activation.provider.is_null(False)
    )


def _refs_to_poll() -> dict[int, dict[str, int]]:
    """provider id -> {upstream ref: activation id} of the open activations."""
    open_rows = compiled_tuples("open-refs", open_refs, *st.OPEN)
    by_provider: dict[int, dict[str, int]] = defaultdict(dict)
    for activation_id, provider_id, ref in open_rows:
        by_provider[provider_id][ref] = activation_id
    return by_provider


def apply_status(activation_id: int, answer: pb.Status) -> tuple[int, int]:
    """Record new messages once and follow the upstream's final states; returns (new SMS, closed)."""
    return apply_statuses({activation_id: answer})


def apply_statuses(answers: dict[int, pb.Status]) -> tuple[int, int]:
    """apply_status for many activations with set-based message writes; (new SMS, closed)."""
    new = record_batch({activation_id: a.messages for activation_id, a in answers.items() if a.messages})
    final = [(activation_id, a.state) for activation_id, a in answers.items() if a.state in FINAL]
    return new, sum(_follow_final_state(activation_id, state) for activation_id, state in final)


def _owner(activation_id: int) -> int | None:
    return Activation.select(Activation.user).where(Activation.id == activation_id).scalar()


def _follow_final_state(activation_id: int, state: str) -> int:
    user_id = _owner(activation_id)
    if user_id is None:
        return 0
    # The upstream cancelled (and refunded us): refund here unless a code already came.
    if state == pb.CANCELED and states.move(activation_id, user_id, st.CANCELED) is not None:
        return 1
    return int(states.move(activation_id, user_id, st.COMPLETED) is not None)


def record_messages(activation_id: int, messages: list[pb.Message]) -> int:
    """Record unseen messages of an open activation; a new code makes it RECEIVED."""
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


def _fresh(messages: dict[int, list[pb.Message]]) -> dict[int, dict[str, pb.Message]]:
    """The messages not recorded yet, per activation."""
    ids = padded(list(messages))
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
    return fresh


def _record_chunk(messages: dict[int, list[pb.Message]]) -> int:
    fresh = _fresh(messages)
    if not fresh:
        return 0
    ids = padded(list(fresh))
    owners = dict(
        compiled_tuples(
            f"owners-{len(ids)}",
            lambda: Activation.select(Activation.id, Activation.user).where(Activation.id.in_(ids)),
            *ids,
        )
    )
    with states.ACTIVATIONS.batch(set(owners.values())) as batch:
        # Read under the owners' locks: no status changes until the commit. A message for an
        # activation already closed (cancelled, expired, failed, withdrawn, completed) is dropped:
        # it is never shown, never counted, never turns a refund into a sale.
        rows = {i: row for i, row in batch.read(list(owners)).items() if row.status in st.OPEN}
        inserted = [
            {"activation": a, "provider_message_id": m.id, "text": m.text, "code": m.code, "received_at": m.received_at}
            for a, by_id in fresh.items()
            if a in rows
            for m in by_id.values()
        ]
        compiled_insert_many("insert-messages", Sms, inserted, INSERT_BATCH)
        for activation_id in {message["activation"] for message in inserted}:
            events.touch(activation_id, rows[activation_id].user_id)  # REST shows every message: no event
        _codes_received(batch, rows, fresh)
    dropped = sum(len(by_id) for a, by_id in fresh.items() if a not in rows)
    if dropped:
        log.info("%d message(s) for closed activations not recorded", dropped)
    return len(inserted)


def _codes_received(batch, rows: dict[int, Activation], fresh: dict[int, dict[str, pb.Message]]) -> None:
    """Each open activation whose newest new message has a code moves to RECEIVED with it."""
    coded = {}
    for activation_id, row in rows.items():
        latest = max(fresh[activation_id].values(), key=lambda m: m.received_at)
        if latest.code and batch.move(row, st.RECEIVED, {"sms_code": latest.code}):
            coded[activation_id] = row
    if not coded:
        return
    shown = defaultdict(list)
    ids = padded(list(coded))
    for sms in compiled_rows(
        f"shown-messages-{len(ids)}",
        lambda: (
            Sms.select(Sms.activation, Sms.text, Sms.code, Sms.received_at)
            .where(Sms.activation.in_(ids))
            .order_by(Sms.id)
        ),
        *ids,
    ):
        shown[sms.activation_id].append(sms)
    for activation_id, row in coded.items():
        row.known_messages = shown[activation_id]
        batch.announce(row)


def expire_due(now: datetime.datetime | None = None) -> dict[str, int]:
    """Lifetime over: refund what got no code, complete what did; each exactly once. (A PENDING
    purchase past its deadline is failed and refunded by the recovery pass.)"""
    now = now or utcnow()
    due = Activation.select(Activation.id, Activation.user, Activation.status).where(
        Activation.status.in_(st.OPEN) & (Activation.expires_at <= now)
    )
    expired = completed = 0
    for row in list(due):
        if row.status == st.WAITING and states.move(row.id, row.user_id, st.EXPIRED, {"provider_action": "cancel"}):
            expired += 1
            send_provider_action(row.id, "cancel")
        elif states.move(row.id, row.user_id, st.COMPLETED, {"provider_action": "finish"}):
            completed += 1
            send_provider_action(row.id, "finish")
    return {"expired": expired, "completed": completed}


def provider_action(activation_id: int, action: str) -> str:
    """Tell the upstream about a cancel, finish or request for another code, then mark it taken."""
    activation = Activation.get_or_none(Activation.id == activation_id)
    if activation is None or activation.provider_id is None:
        return "skipped"
    if activation.provider_action != action:
        return "skipped"  # delivered already, or superseded by a later action
    adapter = routing.adapter_for(activation.provider)
    method = {"cancel": adapter.cancel, "finish": adapter.finish, "another": adapter.request_another}[action]
    method(activation.provider_ref)  # a ProviderError: RQ retries the job on its interval
    Activation.update(provider_action=None).where(
        (Activation.id == activation_id) & (Activation.provider_action == action)
    ).execute()
    return "done"
