"""Worker side of a purchase: buy upstream outside any transaction, record once, or refund once.

The row drives the purchase. Each call to a provider is an attempt recorded on the row before the
call (attempt number, start, provider, the reference sent: the "pre" row) and cleared when its
outcome is recorded, so a job that dies mid-call leaves a trace the recovery pass settles with
the provider (recovery.py), whatever RQ remembers.

Failover: the offers come from routing in priority-then-price order, restricted to providers
with a closed circuit and to offers that cost us at most what the user paid (see quote()).
No numbers, a price above the offer, an empty account there or a transient failure moves on
to the next offer. An answer that may hide a purchase (a timeout after sending) is never
retried blindly: the provider is asked what it sold for the attempt's reference.
"""

from __future__ import annotations

import datetime
import logging

import peewee
from flask import current_app

from ..compiled import compiled_rowcount, compiled_rows
from ..models import Activation, Price, Provider
from ..models import activations as st
from ..models.base import utcnow
from ..providers.base import AmbiguousPurchaseError, ProviderError, Purchase
from . import catalog, routing, states
from .purchase_job import SKIPPED, Outcome

log = logging.getLogger(__name__)

# What a purchase job needs of its row: the order, its owner and how many attempts it had.
ORDER = (
    Activation.id,
    Activation.user,
    Activation.service,
    Activation.country,
    Activation.operator,
    Activation.user_cost,
    Activation.attempts,
    Activation.reactivation_of,
)


def _open_order(activation_id: int) -> Activation | None:
    """The order, if it is PENDING with no attempt in flight (the status guard: a second run of
    the job, or a job racing the recovery pass, finds none)."""
    found = compiled_rows(
        "open-order",
        lambda: Activation.select(*ORDER).where(
            (Activation.id == activation_id)
            & (Activation.status == st.PENDING)
            & Activation.attempt_started_at.is_null()
        ),
        activation_id,
        st.PENDING,
    )
    return found[0] if found else None


def start_attempt(order: Activation, provider: Provider) -> str | None:
    """Record the next attempt before calling the provider; its reference, or None if another
    run started one first (compare-and-set on the attempt count)."""
    number = order.attempts + 1
    reference = f"{order.id}-{number}"
    now = utcnow()
    started = compiled_rowcount(
        "start-attempt",
        lambda: Activation.update(
            attempts=number, attempt_started_at=now, attempt_provider=provider.id, attempt_ref=reference
        ).where(
            (Activation.id == order.id) & (Activation.status == st.PENDING) & (Activation.attempts == order.attempts)
        ),
        number,
        now,
        provider.id,
        reference,
        order.id,
        st.PENDING,
        order.attempts,
    )
    if not started:
        return None
    order.attempts = number
    return reference


def fulfil(activation_id: int) -> Outcome:
    """The purchase job. Running it twice buys once: the second run finds no open order."""
    order = _open_order(activation_id)
    if order is None:
        return SKIPPED
    if order.reactivation_of_id is not None:  # the same number again: only its provider can
        from .reactivations import fulfil_reactivation  # it drives reactivations through this module

        return fulfil_reactivation(order)
    offers = routing.candidates(order.service_id, order.country_id, order.operator, max_cost=order.user_cost)
    for offer in offers:
        reference = start_attempt(order, offer.provider)
        if reference is None:
            return SKIPPED
        outcome = _try_offer(order, offer, reference)
        if outcome is not None:
            return outcome
    failed = states.move(order.id, order.user_id, st.FAILED, {"attempt_started_at": None})
    return Outcome(failed.status if failed is not None else current_status(order.id))


def _try_offer(order: Activation, offer: Price, reference: str) -> Outcome | None:
    """Buy from one offer: the outcome, or None to try the next offer."""
    provider = offer.provider
    adapter = routing.adapter_for(provider, counting=offer.failures_counted)
    try:
        bought = adapter.buy(order.service_id, order.country_id, order.operator, offer.cost, reference)
    except AmbiguousPurchaseError as exc:
        log.warning("purchase of activation %s at %s got no clear answer (%s)", order.id, provider.name, exc)
        from .recovery import settle_attempt  # recovery drives purchases through this module

        return settle_attempt(order.id, in_job=True)
    except ProviderError as exc:
        log.info("provider %s failed for activation %s: %s", provider.name, order.id, type(exc).__name__)
        return None
    return record_number(order.id, order.user_id, provider, bought, reference)


def record_number(
    activation_id: int, user_id: int, provider: Provider, bought: Purchase, reference: str
) -> Outcome | None:
    """PENDING -> WAITING with the number, ending the attempt; safe to run twice. The outcome
    carries the new status, number and expiry (all a purchase's answer needs). A purchase closed
    meanwhile (withdrawn, cancelled, failed) gives the number back upstream. None when the number
    is one another activation holds already (the upstream repeated a ref): try the next offer."""
    lifetime = datetime.timedelta(seconds=current_app.config["ACTIVATION_LIFETIME_SECONDS"])
    changes = {
        "provider": provider.id,
        "provider_ref": bought.ref,
        "provider_cost": catalog.cost_units(bought.cost),
        "phone_number": "".join(ch for ch in bought.phone if ch.isdigit()),
        "expires_at": utcnow() + lifetime,
        "attempt_started_at": None,
    }
    try:
        moved = states.move(activation_id, user_id, st.WAITING, changes, known={"known_messages": []})
    except peewee.IntegrityError:
        log.error("provider %s sold ref %s, which another activation holds: not recorded", provider.name, bought.ref)
        return None
    if moved is None:
        release(activation_id, provider, bought.ref, reference)
        return Outcome(current_status(activation_id))
    return Outcome(st.WAITING, moved.phone_number, moved.expires_at)


def release(activation_id: int, provider: Provider, ref: str, reference: str) -> None:
    """Give back upstream a number bought for a purchase that closed meanwhile, and end the attempt."""
    log.warning("activation %s closed before its number was recorded; releasing it", activation_id)
    try:
        routing.adapter_for(provider).cancel(ref)
    except ProviderError:
        log.warning("could not release number %s at %s", ref, provider.name)
    end_attempt(activation_id, reference)


def end_attempt(activation_id: int, reference: str) -> None:
    """The attempt's outcome is known (its number recorded or released, or none was sold)."""
    Activation.update(attempt_started_at=None).where(
        (Activation.id == activation_id) & (Activation.attempt_ref == reference)
    ).execute()


def current_status(activation_id: int) -> str:
    return Activation.select(Activation.status).where(Activation.id == activation_id).scalar()
