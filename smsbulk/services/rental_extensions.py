"""Extending a rental: quote the extra hours, pay them up front, extend upstream, record once.

The quote asks the provider holding the number what the hours cost (a provider whose API cannot
extend a rental says so: ExtensionUnavailable), with the provider's markup, rounded once. Paying
writes a pending charge and its debit in one transaction; the upstream call runs outside any
transaction; then the rental's end moves and the charge is paid, or the charge is refunded. A
charge left pending by a process that died mid-call is refunded by the recovery pass: the buyer
was never told it worked.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from .. import representation
from ..auth import Caller
from ..errors import ExtensionUnavailable, IdempotencyKeyInUse, NoNumbers, PriceTooHigh, RentalOver
from ..models import Rental, RentalCharge
from ..models import events as types
from ..models import rentals as rt
from ..models.base import utcnow
from ..providers.base import PermanentProviderError, ProviderError, Rented, UnsupportedError
from . import catalog, events, guardrails, providers, rent_pricing, rentals, routing, wallets

log = logging.getLogger(__name__)


EXTENDED = (
    Rental.ends_at,
    Rental.hours,
    Rental.user_cost,
    Rental.provider_cost,
    Rental.provider_ref,
    Rental.updated_at,
)


@dataclass(frozen=True)
class ExtensionQuote:
    rental: Rental
    hours: int
    price: Decimal  # what the user pays for the extra hours
    cost: Decimal  # what the provider asks for them
    ends_at: datetime.datetime  # the rental's end once extended
    paid: list[RentalCharge]  # what was paid for the rental so far, oldest first


def quote(user_id: int, rental_id: str | int, hours: int | None = None) -> ExtensionQuote:
    """The price of `hours` more for an active rental of this owner (by default, as many hours as
    it was rented for: the legacy protocol's continue calls may name none)."""
    rental = rentals.get_for_owner(user_id, rental_id)
    _check_extendable(rental)
    paid = list(
        RentalCharge.select()
        .where((RentalCharge.rental == rental.id) & (RentalCharge.state == "paid"))
        .order_by(RentalCharge.seq)
    )
    hours = hours if hours is not None else (paid[0].hours if paid else rental.hours)
    rent_pricing.check_hours(hours, held=rental.hours)
    try:
        cost = routing.adapter_for(rental.provider).extension_cost(rental.provider_ref, hours)
    except UnsupportedError as exc:
        raise ExtensionUnavailable(provider=rental.provider.kind) from exc
    except ProviderError as exc:
        raise _refusal(exc) from exc
    price = catalog.user_price(cost, providers.markup_of(rental.provider))
    ends_at = rental.ends_at + datetime.timedelta(hours=hours)
    return ExtensionQuote(rental, hours, price, catalog.cost_units(cost), ends_at, paid)


def extend(
    caller: Caller,
    rental_id: str | int,
    hours: int | None,
    max_price: Decimal | None = None,
    idempotency_key: str | None = None,
) -> Rental:
    """Quote, pay, extend upstream; the rental as it is after. A refused extension is refunded.
    An extension already paid under the same idempotency key is not made again."""
    if idempotency_key:
        rental = rentals.get_for_owner(caller.user_id, rental_id)
        if _paid_under(rental, idempotency_key):
            return rental
    offer = quote(caller.user_id, rental_id, hours)
    hours = offer.hours
    if max_price is not None and offer.price > max_price:
        raise PriceTooHigh(minPrice=f"{offer.price:f}", maxPrice=f"{max_price:f}")
    charge = _pay(caller, offer, idempotency_key)
    rental = offer.rental
    try:
        extended = routing.adapter_for(rental.provider).extend_rent(rental.provider_ref, hours, offer.cost)
    except ProviderError as exc:
        log.info("rental %s: extension refused by %s (%s); refunded", rental.id, rental.provider.name, exc)
        _refund(rental.id, caller.user_id, charge)
        if isinstance(exc, UnsupportedError):
            raise ExtensionUnavailable(provider=rental.provider.kind) from exc
        raise _refusal(exc) from exc
    return _record(rental.id, caller.user_id, charge, offer, extended)


def _check_extendable(rental: Rental) -> None:
    if rental.status not in rt.ACTIVE:
        raise RentalOver(status=rental.status) if rental.status != rt.PENDING else rentals.ended_error(rental)
    if rental.ends_at <= utcnow():
        raise RentalOver(status="EXPIRED")


def _refusal(exc: ProviderError) -> Exception:
    """A provider that will not extend this number (RENT_DIE), or cannot now (NO_NUMBERS)."""
    return (
        RentalOver(reason="the provider will not extend it") if isinstance(exc, PermanentProviderError) else NoNumbers()
    )


def _paid_under(rental: Rental, key: str) -> bool:
    """Whether an extension of the rental was paid under this key (a request retried after its
    process died, once the idempotency layer has let it run again). One still pending has an
    outcome nobody knows yet: the recovery pass settles it, then a retry can run."""
    state = (
        RentalCharge.select(RentalCharge.state)
        .where(
            (RentalCharge.rental == rental.id)
            & (RentalCharge.idempotency_key == key)
            & (RentalCharge.state != "refunded")
        )
        .scalar()
    )
    if state == "pending":
        raise IdempotencyKeyInUse()
    return state is not None


def _pay(caller: Caller, offer: ExtensionQuote, idempotency_key: str | None = None) -> RentalCharge:
    """The pending charge of the extension and its debit, under the account's lock."""
    with events.recording(caller.user_id, lock=False):
        wallet = wallets.take(caller.user_id, offer.price)  # the account's lock: no other charge races this one
        guardrails.count_purchase(caller, offer.price)
        if Rental.select(Rental.status).where(Rental.id == offer.rental.id).scalar() not in rt.ACTIVE:
            raise RentalOver(status="ended")  # rolls the debit back
        if idempotency_key and _paid_under(offer.rental, idempotency_key):
            raise IdempotencyKeyInUse()  # a twin paid meanwhile; rolls the debit back
        seq = RentalCharge.select(RentalCharge.seq).where(RentalCharge.rental == offer.rental.id).count()
        charge = RentalCharge.create(
            rental=offer.rental.id, seq=seq, hours=offer.hours, amount=offer.price, idempotency_key=idempotency_key
        )
        charge.rental = offer.rental
        wallets.record_rental_debit(caller.user_id, wallet, charge)
    return charge


def _record(rental_id: int, user_id: int, charge: RentalCharge, offer: ExtensionQuote, extended: Rented) -> Rental:
    """The upstream extended the number: move the end and pay the charge, in one transaction; a
    rental that ended meanwhile gets the charge back instead (its time cannot be used)."""
    with events.recording(user_id):  # the account's lock: every change of this rental waits for it
        rental = rentals.by_id(rental_id)
        paid = rental.status in rt.ACTIVE and (
            RentalCharge.update(state="paid", provider_cost=offer.cost)
            .where((RentalCharge.id == charge.id) & (RentalCharge.state == "pending"))
            .execute()
        )
        if paid:
            rental.ends_at += datetime.timedelta(hours=offer.hours)
            rental.hours += offer.hours
            rental.user_cost += offer.price
            rental.provider_cost = (rental.provider_cost or Decimal("0")) + offer.cost
            rental.provider_ref = extended.ref  # an upstream may give an extended rental a new id
            rental.updated_at = utcnow()
            rental.save(only=[*EXTENDED, Rental.updated_at])
            rental.known_messages = []
            events.add(user_id, types.RENTAL_EXTENDED, representation.rental(rental), rental_id=rental_id)
    if not paid:
        log.warning("rental %s ended while its extension was bought upstream; the extension is refunded", rental_id)
        _refund(rental_id, user_id, charge)
        raise RentalOver(status=rental.status)
    return rental


def _refund(rental_id: int, user_id: int, charge: RentalCharge) -> None:
    """Give a pending extension's charge back, once (a racing cancel may have refunded it)."""
    with events.recording(user_id):
        refunded = (
            RentalCharge.update(state="refunded")
            .where((RentalCharge.id == charge.id) & (RentalCharge.state == "pending"))
            .execute()
        )
        if refunded:
            wallets.refund_rental_charge(user_id, charge, charge.amount)


def refund_stale(now: datetime.datetime, older_than: datetime.timedelta) -> int:
    """The recovery pass: extensions left pending (their request died mid-call) are refunded."""
    stale = (
        RentalCharge.select(RentalCharge, Rental.user, Rental.public_id)
        .join(Rental)
        .where(
            (RentalCharge.state == "pending") & (RentalCharge.seq > 0) & (RentalCharge.created_at <= now - older_than)
        )
    )
    count = 0
    for charge in list(stale):
        log.warning("rental %s: extension %s left pending; refunded, check the upstream", charge.rental_id, charge.seq)
        _refund(charge.rental_id, charge.rental.user_id, charge)
        count += 1
    return count
