"""Worker side of a rental: rent upstream outside any transaction, record once, or refund once.

As for purchases (fulfilment.py), the row drives it: each call to a provider is an attempt
recorded on the row before the call and cleared with its outcome. Offers come in routing order
(priority, then price), among providers with a closed circuit whose cost is at most what the
user paid. An answer that may hide a rental (no answer to the request) is not retried: the
upstream protocols take no reference for a rental that could find it again, so the rental fails,
is refunded, and the possible orphan number is logged for the operator.
"""

from __future__ import annotations

import datetime
import logging

import peewee

from ..models import Provider, Rental
from ..models import rentals as rt
from ..models.base import utcnow
from ..providers.base import AmbiguousPurchaseError, ProviderError, Rented
from . import catalog, rent_pricing, rental_states, routing

log = logging.getLogger(__name__)

# What the job needs of its row: the order, its owner, how many attempts it had.
ORDER = (
    Rental.id,
    Rental.user,
    Rental.service,
    Rental.country,
    Rental.operator,
    Rental.hours,
    Rental.user_cost,
    Rental.attempts,
)


def _open_order(rental_id: int) -> Rental | None:
    """The order, if PENDING with no attempt in flight (the status guard of a second run)."""
    return (
        Rental.select(*ORDER)
        .where((Rental.id == rental_id) & (Rental.status == rt.PENDING) & Rental.attempt_started_at.is_null())
        .first()
    )


def _start_attempt(order: Rental, provider: Provider) -> bool:
    """Record the attempt before calling the provider (compare-and-set on the attempt count)."""
    number = order.attempts + 1
    started = (
        Rental.update(attempts=number, attempt_started_at=utcnow(), attempt_provider=provider.id)
        .where((Rental.id == order.id) & (Rental.status == rt.PENDING) & (Rental.attempts == order.attempts))
        .execute()
    )
    order.attempts = number
    return bool(started)


def fulfil(rental_id: int) -> str:
    """The rental job; its rental's status. Running it twice rents once."""
    order = _open_order(rental_id)
    if order is None:
        return "skipped"
    offers = rent_pricing.offers(order.service_id, order.country_id, order.operator, order.hours, order.user_cost)
    for offer in offers:
        if not _start_attempt(order, offer.provider):
            return "skipped"
        status = _try_offer(order, offer)
        if status is not None:
            return status
    failed = rental_states.move(order.id, order.user_id, rt.FAILED, {"attempt_started_at": None})
    return failed.status if failed is not None else current_status(order.id)


def _try_offer(order: Rental, offer: rent_pricing.RentOffer) -> str | None:
    """Rent from one offer: the rental's status after, or None to try the next offer."""
    provider = offer.provider
    try:
        rented = routing.adapter_for(provider).rent(
            order.service_id, order.country_id, order.operator, order.hours, offer.cost, str(order.id)
        )
    except AmbiguousPurchaseError as exc:
        message = "possible orphan number at %s for rental %s (%s): refunding, check the upstream"
        log.warning(message, provider.name, order.id, exc)
        failed = rental_states.move(order.id, order.user_id, rt.FAILED, {"attempt_started_at": None})
        return failed.status if failed is not None else current_status(order.id)
    except ProviderError as exc:
        log.info("provider %s could not rent for rental %s: %s", provider.name, order.id, type(exc).__name__)
        end_attempt(order.id)
        return None
    return record_number(order, provider, rented)


def record_number(order: Rental, provider: Provider, rented: Rented) -> str | None:
    """PENDING -> WAITING with the number; the paid time starts now. A rental closed meanwhile
    (withdrawn) gives the number back upstream. None when another rental holds that number."""
    now = utcnow()
    changes = {
        "provider": provider.id,
        "provider_ref": rented.ref,
        "provider_cost": catalog.cost_units(rented.cost),
        "phone_number": "".join(ch for ch in rented.phone if ch.isdigit()),
        "started_at": now,
        "ends_at": now + datetime.timedelta(hours=order.hours),
        "attempt_started_at": None,
    }
    try:
        moved = rental_states.assign(order.id, order.user_id, changes)
    except peewee.IntegrityError:
        log.error("provider %s rented ref %s, which another rental holds: not recorded", provider.name, rented.ref)
        end_attempt(order.id)
        return None
    if moved is None:
        release(order.id, provider, rented.ref)
        return current_status(order.id)
    return rt.WAITING


def release(rental_id: int, provider: Provider, ref: str) -> None:
    """Give back a number rented for a rental that closed meanwhile, and end the attempt."""
    log.warning("rental %s closed before its number was recorded; releasing it", rental_id)
    try:
        routing.adapter_for(provider).cancel_rent(ref)
    except ProviderError:
        log.warning("could not release rented number %s at %s", ref, provider.name)
    end_attempt(rental_id)


def end_attempt(rental_id: int) -> None:
    Rental.update(attempt_started_at=None).where(Rental.id == rental_id).execute()


def current_status(rental_id: int) -> str:
    return Rental.select(Rental.status).where(Rental.id == rental_id).scalar()


def provider_action(rental_id: int, action: str) -> str:
    """Tell the upstream a rental was finished or cancelled, then mark it taken."""
    rental = Rental.get_or_none(Rental.id == rental_id)
    if rental is None or rental.provider_id is None or rental.provider_action != action:
        return "skipped"  # delivered already, or superseded
    adapter = routing.adapter_for(rental.provider)
    {"finish": adapter.finish_rent, "cancel": adapter.cancel_rent}[action](rental.provider_ref)
    Rental.update(provider_action=None).where((Rental.id == rental_id) & (Rental.provider_action == action)).execute()
    return "done"
