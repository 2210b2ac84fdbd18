"""The recovery pass: purchases driven from the database, whatever RQ's registries say.

Run by the cron process itself (workers/cron.py), not as a job, so it goes on while the queue or
its workers are gone. Each pass:

- a PENDING purchase past its deadline (its expires_at) fails and is refunded; one whose job may
  still be calling a provider gives that number back when it returns (fulfilment.record_number);
- a PENDING purchase that is not moving (no attempt in flight, untouched for PURCHASE_STALL_SECONDS)
  is handed to a new job, under a new job id;
- an attempt still in flight after ATTEMPT_TIMEOUT_SECONDS (its job died mid-call) is settled with
  the provider: the number it sold for the attempt's reference is adopted (or given back, if the
  purchase was closed meanwhile); if it sold none the purchase is driven again; if it cannot say,
  the purchase fails and is refunded and the possible orphan number is logged;
- an upstream action (cancel, finish, another code) still owed after PROVIDER_ACTION_RESEND_SECONDS
  is sent again.

It returns what it did, as counts (for metrics).
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter

import redis
from flask import current_app

from ..models import Activation, Provider
from ..models import activations as st
from ..models.base import utcnow
from ..providers.base import CannotTell, ProviderError, Purchase
from . import purchase_job, routing, states
from .activations import send_provider_action
from .fulfilment import current_status, end_attempt, record_number, release
from .purchase_job import Outcome

log = logging.getLogger(__name__)

UNKNOWN = "unknown"  # the provider cannot say what it sold for an attempt

ATTEMPT = (
    Activation.id,
    Activation.user,
    Activation.status,
    Activation.service,
    Activation.country,
    Activation.attempt_started_at,
    Activation.attempt_provider,
    Activation.attempt_ref,
    Activation.expires_at,
    Activation.updated_at,
)


def _seconds(name: str) -> datetime.timedelta:
    return datetime.timedelta(seconds=current_app.config[name])


def recover(now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass; the number of purchases re-driven, adopted, failed, released, of attempts
    settled, and of upstream actions sent again."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    pending = Activation.select(*ATTEMPT).where(Activation.status == st.PENDING).order_by(Activation.id)
    for row in list(pending):
        counts[_recover_pending(row, now)] += 1
    stale = now - _seconds("ATTEMPT_TIMEOUT_SECONDS")
    closed = Activation.select(Activation.id).where(
        Activation.attempt_started_at.is_null(False)
        & (Activation.attempt_started_at <= stale)
        & (Activation.status != st.PENDING)
    )
    for (activation_id,) in list(closed.tuples()):
        settle_attempt(activation_id)
        counts["released"] += 1
    counts["actions"] += _resend_actions(now)
    counts.pop("waiting", None)
    return {name: counts[name] for name in ("redriven", "adopted", "failed", "released", "actions")}


def _recover_pending(row: Activation, now: datetime.datetime) -> str:
    """What the pass does with one PENDING purchase; the name of what it did."""
    past_deadline = row.expires_at <= now
    if row.attempt_started_at is not None:
        if row.attempt_started_at <= now - _seconds("ATTEMPT_TIMEOUT_SECONDS"):
            outcome = settle_attempt(row.id)
            if outcome is not None:
                return "adopted" if outcome.status == st.WAITING else "failed"
        elif not past_deadline:
            return "waiting"  # a job is calling the provider
    if past_deadline:
        failed = states.move(row.id, row.user_id, st.FAILED)
        if failed is not None:
            log.warning("purchase of activation %s failed: no number by its deadline; refunded", row.id)
        return "failed" if failed is not None else "waiting"
    if row.attempt_started_at is None and row.updated_at > now - _seconds("PURCHASE_STALL_SECONDS"):
        return "waiting"
    return "redriven" if _redrive(row, now) else "waiting"


def _redrive(row: Activation, now: datetime.datetime) -> bool:
    """Hand a purchase that is not moving to a new job (touching the row, so the next pass waits)."""
    touched = (
        Activation.update(updated_at=now)
        .where((Activation.id == row.id) & (Activation.status == st.PENDING) & Activation.attempt_started_at.is_null())
        .execute()
    )
    if not touched:
        return False
    try:
        purchase_job.redrive(row.id, f"r{int(now.timestamp())}")
    except redis.RedisError as exc:
        log.warning("activation %s: cannot re-drive its purchase now (%s)", row.id, type(exc).__name__)
        return False
    log.info("purchase of activation %s driven again: it was not moving", row.id)
    return True


def settle_attempt(activation_id: int, in_job: bool = False) -> Outcome | None:
    """Ask the provider what an attempt in flight sold, and record that. The outcome for the
    purchase: adopted (WAITING), or FAILED and refunded when the provider cannot say; None when
    it sold nothing for certain (the purchase stays PENDING, with no attempt in flight: the job
    tries its next offer, the recovery pass drives it again) or the purchase was closed already."""
    row = Activation.select(*ATTEMPT).where(Activation.id == activation_id).first()
    if row is None or row.attempt_started_at is None:
        return None
    provider = Provider.get_or_none(Provider.id == row.attempt_provider_id)
    found = _sold_for(row, provider)
    if row.status != st.PENDING:
        if isinstance(found, Purchase):
            release(row.id, provider, found.ref, row.attempt_ref)
        else:
            end_attempt(row.id, row.attempt_ref)
        return None
    if isinstance(found, Purchase):
        log.warning("activation %s reconciled: number %s found at %s", row.id, found.ref, provider.name)
        outcome = record_number(row.id, row.user_id, provider, found, row.attempt_ref)
        if outcome is not None:
            return outcome
    elif found is None:
        end_attempt(row.id, row.attempt_ref)
        return None
    where = provider.name if provider is not None else "an unknown provider"
    log.warning("possible orphan number at %s for activation %s: refunding, check the upstream", where, row.id)
    failed = states.move(row.id, row.user_id, st.FAILED, {"attempt_started_at": None})
    return Outcome(failed.status if failed is not None else current_status(row.id))


def _sold_for(row: Activation, provider: Provider | None) -> Purchase | None | str:
    """What the provider sold for the row's attempt: a Purchase, None (nothing), or UNKNOWN."""
    if provider is None:
        return UNKNOWN
    adapter = routing.adapter_for(provider, counting=False)  # an answer here does not reset the breaker
    try:
        return adapter.purchase_for(row.attempt_ref, row.service_id, row.country_id)
    except CannotTell:
        return _unknown_open_number(row, provider)
    except ProviderError as exc:
        log.warning("cannot ask %s about activation %s: %s", provider.name, row.id, type(exc).__name__)
        return UNKNOWN


def _unknown_open_number(row: Activation, provider: Provider) -> Purchase | str:
    """Where a reference cannot be looked up: the one open number at the provider, for this
    service and country, that no activation of ours holds; else UNKNOWN (a list without one does
    not prove nothing was sold: it may not show yet), as when there are several, another purchase
    in flight could own it, or the list cannot be read."""
    try:
        listed = routing.adapter_for(provider, counting=False).open_purchases(row.service_id, row.country_id)
    except ProviderError as exc:
        log.warning("cannot list open numbers at %s: %s", provider.name, type(exc).__name__)
        return UNKNOWN
    if listed is None:
        return UNKNOWN
    # Checked after listing: a number in the list is either recorded by now or its purchase is
    # still PENDING with an attempt in flight (record_number sets the ref and the status at once).
    if _other_attempts_in_flight(row):
        log.warning("activation %s not reconciled: other purchases in flight", row.id)
        return UNKNOWN
    refs = [p.ref for p in listed]
    known = Activation.select(Activation.provider_ref).where(
        (Activation.provider == provider.id) & Activation.provider_ref.in_(refs)
    )
    held = {ref for (ref,) in known.tuples()}
    unknown = [p for p in listed if p.ref not in held]
    if len(unknown) > 1:
        log.warning("activation %s not reconciled: %d unknown open numbers at %s", row.id, len(unknown), provider.name)
        return UNKNOWN
    return unknown[0] if unknown else UNKNOWN


def _other_attempts_in_flight(row: Activation) -> bool:
    return (
        Activation.select()
        .where(
            (Activation.status == st.PENDING)
            & (Activation.id != row.id)
            & (Activation.service == row.service_id)
            & (Activation.country == row.country_id)
            & Activation.attempt_started_at.is_null(False)
        )
        .exists()
    )


def _resend_actions(now: datetime.datetime) -> int:
    """Upstream actions owed for longer than PROVIDER_ACTION_RESEND_SECONDS, sent again."""
    owed = Activation.select(Activation.id, Activation.provider_action).where(
        Activation.provider_action.is_null(False)
        & (Activation.updated_at <= now - _seconds("PROVIDER_ACTION_RESEND_SECONDS"))
    )
    sent = 0
    for activation_id, action in list(owed.tuples()):
        Activation.update(updated_at=now).where(
            (Activation.id == activation_id) & (Activation.provider_action == action)
        ).execute()
        send_provider_action(activation_id, action, f"-r{int(now.timestamp())}")
        sent += 1
    return sent
