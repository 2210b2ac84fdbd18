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
from dataclasses import dataclass

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


@dataclass
class Bought:
    """A number bought upstream for an order, not recorded yet (fulfil with defer=True): its
    attempt stays in flight on the row until it is, as during the call."""

    order: Activation
    provider: Provider
    purchase: Purchase
    reference: str
    rest: list[Price]  # the offers after this one, tried if the number cannot be recorded


def fulfil(activation_id: int, defer: bool = False) -> Outcome | Bought:
    """The purchase job. Running it twice buys once: the second run finds no open order.
    With defer, a number bought is returned unrecorded, for record_group (purchase_groups.py)."""
    order = _open_order(activation_id)
    if order is None:
        return SKIPPED
    if order.reactivation_of_id is not None:  # the same number again: only its provider can
        from .reactivations import fulfil_reactivation  # it drives reactivations through this module

        return fulfil_reactivation(order)
    offers = routing.candidates(order.service_id, order.country_id, order.operator, max_cost=order.user_cost)
    return _through(order, offers, defer)


def _through(order: Activation, offers: list[Price], defer: bool = False) -> Outcome | Bought:
    """Try the offers in turn until one sells a number; FAILED (and refunded) if none does."""
    for n, offer in enumerate(offers):
        reference = start_attempt(order, offer.provider)
        if reference is None:
            return SKIPPED
        outcome = _try_offer(order, offer, reference, offers[n + 1 :] if defer else None)
        if outcome is not None:
            return outcome
    failed = states.move(order.id, order.user_id, st.FAILED, {"attempt_started_at": None})
    return Outcome(failed.status if failed is not None else current_status(order.id))


def _try_offer(order: Activation, offer: Price, reference: str, rest: list[Price] | None) -> Outcome | Bought | None:
    """Buy from one offer: the outcome (or the number bought, unrecorded, when `rest` is given),
    or None to try the next offer."""
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
    if rest is not None:
        return Bought(order, provider, bought, reference, rest)
    return record_number(order.id, order.user_id, provider, bought, reference)


def finish(bought: Bought) -> Outcome:
    """Record a deferred number on its own, as fulfil would have; the next offers if it cannot be."""
    order = bought.order
    outcome = record_number(order.id, order.user_id, bought.provider, bought.purchase, bought.reference)
    return outcome if outcome is not None else _through(order, bought.rest)


def record_number(
    activation_id: int, user_id: int, provider: Provider, bought: Purchase, reference: str
) -> Outcome | None:
    """PENDING -> WAITING with the number, ending the attempt; safe to run twice. The outcome
    carries the new status, number and expiry (all a purchase's answer needs). A purchase closed
    meanwhile (withdrawn, cancelled, failed) gives the number back upstream. None when the number
    is one another activation holds already (the upstream repeated a ref): try the next offer."""
    try:
        moved = move_to_waiting(activation_id, user_id, provider, bought)
    except peewee.IntegrityError:
        log.error("provider %s sold ref %s, which another activation holds: not recorded", provider.name, bought.ref)
        return None
    return recorded(activation_id, moved, provider, bought, reference)


def move_to_waiting(activation_id: int, user_id: int, provider: Provider, bought: Purchase) -> Activation | None:
    """The move that records a number: the row, or None if the purchase closed meanwhile."""
    lifetime = datetime.timedelta(seconds=current_app.config["ACTIVATION_LIFETIME_SECONDS"])
    changes = {
        "provider": provider.id,
        "provider_ref": bought.ref,
        "provider_cost": catalog.cost_units(bought.cost),
        "phone_number": "".join(ch for ch in bought.phone if ch.isdigit()),
        "expires_at": utcnow() + lifetime,
        "attempt_started_at": None,
    }
    return states.move(activation_id, user_id, st.WAITING, changes, known={"known_messages": []})


def recorded(
    activation_id: int, moved: Activation | None, provider: Provider, bought: Purchase, reference: str
) -> Outcome:
    """The outcome of move_to_waiting, once committed: a number for a closed purchase goes back."""
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
