"""Periodic work on rentals: polled in the same cycle as activations, expired, and recovered.

- poll(): one rent_statuses() call per provider for all its active rentals; each new SMS is
  recorded once and moves the rental to RECEIVED with an event of its own; an upstream that ended,
  cancelled or took back a number ends the rental here (REVOKED, refunded pro rata, unless its
  paid time was over anyway: EXPIRED).
- expire_due(): active rentals past their paid time end (EXPIRED; nothing refunded).
- recover(): rentals driven from the database, whatever RQ remembers (see recovery.py for
  purchases): a PENDING rental past its deadline, or whose upstream call never returned, fails
  and is refunded; one not moving gets a new job; extensions left pending are refunded; owed
  upstream finish/cancel calls are sent again.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter, defaultdict

from flask import current_app

from ..models import Rental, RentalSms
from ..models import rentals as rt
from ..models.base import utcnow
from ..providers import base as pb
from . import health, rental_extensions, rental_job, rental_states

log = logging.getLogger(__name__)

# An upstream that ends a rental this close to its paid end has expired it, not taken it back.
END_GRACE = datetime.timedelta(minutes=5)
INSERT_BATCH = 100


def poll(now: datetime.datetime | None = None) -> dict[str, int]:
    """Ask each healthy provider about all its active rentals at once; what was found."""
    now = now or utcnow()
    by_provider: dict[int, dict[str, int]] = defaultdict(dict)
    active = Rental.select(Rental.id, Rental.provider, Rental.provider_ref).where(
        Rental.status.in_(rt.ACTIVE) & Rental.provider.is_null(False)
    )
    for rental_id, provider_id, ref in active.tuples():
        by_provider[provider_id][ref] = rental_id
    counts = {"rentals": 0, "rental_messages": 0, "rentals_ended": 0}
    from .lifecycle import ask_each  # lifecycle polls rentals through this module: resolved at call time

    for found in ask_each(by_provider, health.open_ids(by_provider), "rent_statuses"):
        counts["rentals"] += len(found)
        counts["rental_messages"] += record_messages({i: a.messages for i, a in found.items() if a.messages})
        counts["rentals_ended"] += sum(_follow_end(i, a.state, now) for i, a in found.items())
    return counts


def record_messages(messages: dict[int, list[pb.Message]]) -> int:
    """Record the unseen SMS of active rentals; each moves its rental to RECEIVED with its event.
    An SMS for a rental that has ended is dropped: never shown, never a reason to keep money."""
    if not messages:
        return 0
    seen = set(
        RentalSms.select(RentalSms.rental, RentalSms.provider_message_id)
        .where(RentalSms.rental.in_(list(messages)))
        .tuples()
    )
    fresh = {
        rental_id: sorted(
            {m.id: m for m in found if (rental_id, m.id) not in seen}.values(), key=lambda m: m.received_at
        )
        for rental_id, found in messages.items()
    }
    fresh = {rental_id: found for rental_id, found in fresh.items() if found}
    if not fresh:
        return 0
    owners = dict(Rental.select(Rental.id, Rental.user).where(Rental.id.in_(list(fresh))).tuples())
    with rental_states.RENTALS.batch(set(owners.values())) as batch:
        rows = {i: row for i, row in batch.read(list(owners)).items() if row.status in rt.ACTIVE}
        stored = _insert(rows, fresh)
        for rental_id, row in rows.items():
            for sms in stored[rental_id]:
                batch.move(row, rt.RECEIVED)
                row.known_messages = [sms]  # the event shows the SMS it brings
                batch.announce(row)
    return sum(len(found) for found in stored.values())


def _insert(rows: dict[int, Rental], fresh: dict[int, list[pb.Message]]) -> dict[int, list[RentalSms]]:
    stored: dict[int, list[RentalSms]] = {}
    for rental_id in rows:
        stored[rental_id] = [
            RentalSms(
                rental=rental_id,
                provider_message_id=m.id,
                sender=(m.sender or "")[:64] or None,
                service=(m.service or "")[:16] or None,
                text=m.text,
                code=m.code,
                received_at=m.received_at,
            )
            for m in fresh[rental_id]
        ]
    values = [sms.__data__ for found in stored.values() for sms in found]
    for start in range(0, len(values), INSERT_BATCH):
        RentalSms.insert_many(values[start : start + INSERT_BATCH]).on_conflict_ignore().execute()
    return stored


def _follow_end(rental_id: int, state: str, now: datetime.datetime) -> int:
    """An upstream that ended, cancelled or took back an active rental ends it here."""
    if state not in (pb.FINISHED, pb.CANCELED, pb.REVOKED):
        return 0
    row = Rental.select(Rental.user, Rental.status, Rental.ends_at).where(Rental.id == rental_id).first()
    if row is None or row.status not in rt.ACTIVE:
        return 0
    target = rt.EXPIRED if now >= row.ends_at - END_GRACE else rt.REVOKED
    if target == rt.REVOKED:
        log.warning("rental %s: the provider ended it early (%s); the unused part is refunded", rental_id, state)
    return int(rental_states.move(rental_id, row.user_id, target, now=now) is not None)


def expire_due(now: datetime.datetime | None = None) -> dict[str, int]:
    """Active rentals past their paid time end, once each; the upstream is told."""
    now = now or utcnow()
    due = Rental.select(Rental.id, Rental.user).where(Rental.status.in_(rt.ACTIVE) & (Rental.ends_at <= now))
    expired = 0
    for rental_id, user_id in list(due.tuples()):
        if rental_states.move(rental_id, user_id, rt.EXPIRED, {"provider_action": "finish"}) is not None:
            expired += 1
            rental_job.send_action(rental_id, "finish")
    return {"rentals_expired": expired}


def _seconds(name: str) -> datetime.timedelta:
    return datetime.timedelta(seconds=current_app.config[name])


def recover(now: datetime.datetime | None = None) -> dict[str, int]:
    """One recovery pass over rentals; what it did, as counts."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    for row in list(Rental.select().where(Rental.status == rt.PENDING).order_by(Rental.id)):
        counts[_recover_pending(row, now)] += 1
    stale = now - _seconds("ATTEMPT_TIMEOUT_SECONDS")
    for row in list(Rental.select().where(Rental.attempt_started_at <= stale, Rental.status != rt.PENDING)):
        log.warning(
            "rental %s closed while a rental call to %s was unanswered: check it", row.id, row.attempt_provider_id
        )
        Rental.update(attempt_started_at=None).where(Rental.id == row.id).execute()
    counts["rentals_extensions_refunded"] += rental_extensions.refund_stale(now, _seconds("ATTEMPT_TIMEOUT_SECONDS"))
    counts["rentals_actions"] += _resend_actions(now)
    return {
        name: counts[name]
        for name in ("rentals_redriven", "rentals_failed", "rentals_extensions_refunded", "rentals_actions")
    }


def _recover_pending(row: Rental, now: datetime.datetime) -> str:
    stuck = row.attempt_started_at is not None and row.attempt_started_at <= now - _seconds("ATTEMPT_TIMEOUT_SECONDS")
    if stuck or (row.attempt_started_at is None and row.ends_at <= now):
        if stuck:
            log.warning("possible orphan number for rental %s: its rental call never returned; refunding", row.id)
        failed = rental_states.move(row.id, row.user_id, rt.FAILED, {"attempt_started_at": None})
        return "rentals_failed" if failed is not None else "waiting"
    if row.attempt_started_at is not None or row.updated_at > now - _seconds("PURCHASE_STALL_SECONDS"):
        return "waiting"
    touched = (
        Rental.update(updated_at=now)
        .where((Rental.id == row.id) & (Rental.status == rt.PENDING) & Rental.attempt_started_at.is_null())
        .execute()
    )
    if touched and rental_job.enqueue(row.id, f"r{int(now.timestamp())}") is not None:
        log.info("rental %s driven again: it was not moving", row.id)
        return "rentals_redriven"
    return "waiting"


def _resend_actions(now: datetime.datetime) -> int:
    owed = Rental.select(Rental.id, Rental.provider_action).where(
        Rental.provider_action.is_null(False) & (Rental.updated_at <= now - _seconds("PROVIDER_ACTION_RESEND_SECONDS"))
    )
    sent = 0
    for rental_id, action in list(owed.tuples()):
        Rental.update(updated_at=now).where((Rental.id == rental_id) & (Rental.provider_action == action)).execute()
        rental_job.send_action(rental_id, action, f"-r{int(now.timestamp())}")
        sent += 1
    return sent
