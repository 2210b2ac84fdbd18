"""Renting a number, web side: the one engine behind REST /api/v1/rentals and the legacy rent actions.

A rental is paid up front: its price is debited with a PENDING row and its first charge in one
transaction, the rental job rents the number upstream, and the request waits briefly for it. A
legacy buyer, whose protocol has no pending state, gets a rental still PENDING after the wait
withdrawn and refunded (NO_NUMBERS). Every later change of state goes through rental_states.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from decimal import Decimal

import peewee
from flask import current_app

from ..auth import Caller
from ..errors import BadStatus, RentalCanceled, RentalFinished, RentalNotFound, RentCancelWindowOver
from ..models import Country, Rental, RentalCharge, RentalSms, Service
from ..models import rentals as rt
from ..models.base import utcnow
from . import events, guardrails, rent_pricing, rental_job, rental_states, wallets


@dataclass(frozen=True)
class RentOrder:
    service: Service  # `full`: every service's SMS
    country: Country
    hours: int
    operator: str = "any"
    max_price: Decimal | None = None
    idempotency_key: str | None = None


def new_public_id() -> str:
    return "rnt_" + secrets.token_hex(12)


def quote(order: RentOrder) -> Decimal:
    """What the rental costs: the lowest price among healthy offers for its length (rent_pricing)."""
    rent_pricing.check_hours(order.hours)
    return rent_pricing.quote(order.service.code, order.country, order.operator or "any", order.hours, order.max_price)


def rent(caller: Caller, order: RentOrder) -> Rental:
    """Pay, hand the rental to its job, and wait briefly for the number."""
    rental, job = _place(caller, order)
    if rental.status == rt.PENDING:
        rental_job.wait(job, current_app.config["PURCHASE_WAIT_SECONDS"])
        rental = by_id(rental.id)  # the row is the truth
    return rental


def rent_now(caller: Caller, order: RentOrder) -> Rental:
    """rent() for a client that must get the number in this very answer (the legacy protocol):
    a rental still PENDING after the wait is withdrawn and refunded; its job then rents nothing,
    or gives back the number it had just rented."""
    rental = rent(caller, order)
    if rental.status != rt.PENDING:
        return rental
    withdrawn = rental_states.move(rental.id, caller.user_id, rt.WITHDRAWN)
    return withdrawn if withdrawn is not None else by_id(rental.id)


def _place(caller: Caller, order: RentOrder):
    if order.idempotency_key:
        earlier = _by_idempotency_key(caller.user_id, order.idempotency_key)
        if earlier is not None:
            return earlier, None
    price = quote(order)
    try:
        rental = _insert(caller, order, price)
    except peewee.IntegrityError:
        earlier = order.idempotency_key and _by_idempotency_key(caller.user_id, order.idempotency_key)
        if not earlier:
            raise
        return earlier, None
    return rental, rental_job.enqueue(rental.id)  # after commit: the job must see the row


def _insert(caller: Caller, order: RentOrder, price: Decimal) -> Rental:
    """The rental, its first charge, the debit and their events, in one transaction. The debit
    comes first: its UPDATE of the wallet row is the account's lock (services/events.py)."""
    now = utcnow()
    deadline = now + datetime.timedelta(seconds=current_app.config["PURCHASE_DEADLINE_SECONDS"])
    with events.recording(caller.user_id, lock=False):
        wallet = wallets.take(caller.user_id, price)
        guardrails.count_purchase(caller, price)
        rental = Rental.create(
            public_id=new_public_id(),
            user=caller.user_id,
            api_key=caller.key_id,
            service=order.service.code,
            country=order.country.id,
            operator=order.operator or "any",
            hours=order.hours,
            user_cost=price,
            max_price=order.max_price,
            idempotency_key=order.idempotency_key,
            created_at=now,
            updated_at=now,
            ends_at=deadline,  # PENDING until the deadline: then it fails and is refunded
        )
        charge = RentalCharge.create(rental=rental, seq=0, hours=order.hours, amount=price)
        charge.rental = rental
        rental_states.created(rental)
        wallets.record_rental_debit(caller.user_id, wallet, charge)
    return rental


def _by_idempotency_key(user_id: int, key: str) -> Rental | None:
    return Rental.get_or_none((Rental.user == user_id) & (Rental.idempotency_key == key))


def by_id(rental_id: int) -> Rental:
    return Rental.get_by_id(rental_id)


def get_for_owner(user_id: int, rental_id: str | int) -> Rental:
    """By opaque id or legacy number; another user's rental is simply not found."""
    text = str(rental_id).strip()
    if text.isascii() and text.isdigit() and len(text) <= 10:
        found = Rental.get_or_none((Rental.user == user_id) & (Rental.id == int(text)))
    elif text.startswith("rnt_") and len(text) <= 32:
        found = Rental.get_or_none((Rental.user == user_id) & (Rental.public_id == text))
    else:
        found = None
    if found is None:
        raise RentalNotFound(id=text[:40])
    return found


def list_for_owner(user_id: int, status: str | None = None):
    """The owner's rentals, newest first (REST pages this query in SQL)."""
    query = Rental.select().where(Rental.user == user_id).order_by(Rental.id.desc())
    return query.where(Rental.status == status) if status else query


def active_for_owner(user_id: int, offset: int = 0, limit: int = 500) -> list[Rental]:
    """The owner's rentals holding a number, oldest first (legacy getRentList)."""
    query = Rental.select().where((Rental.user == user_id) & Rental.status.in_(rt.ACTIVE)).order_by(Rental.id)
    return list(query.offset(offset).limit(limit))


def with_messages(user_id: int, rental_id: str | int) -> tuple[Rental, list[RentalSms]]:
    """One rental of its owner and every SMS it received, oldest first."""
    rental = get_for_owner(user_id, rental_id)
    messages = list(RentalSms.select().where(RentalSms.rental == rental.id).order_by(RentalSms.id))
    rental.known_messages = messages
    return rental, messages


def ended_error(rental: Rental) -> Exception:
    """What a change asked of a rental that is over says: finished (its time was used) or
    cancelled (refunded)."""
    if rental.status in (rt.FINISHED, rt.EXPIRED, rt.REVOKED):
        return RentalFinished(status=rental.status)
    if rental.status in (rt.CANCELED, rt.FAILED, rt.WITHDRAWN):
        return RentalCanceled(status=rental.status)
    return BadStatus(status=rental.status)


def finish(user_id: int, rental_id: str | int) -> Rental:
    """End an active rental early: nothing is refunded; the number is given back upstream."""
    rental = get_for_owner(user_id, rental_id)
    if rental.status not in rt.ACTIVE:
        raise ended_error(rental)
    moved = rental_states.move(rental.id, user_id, rt.FINISHED, {"provider_action": "finish"})
    if moved is None:
        raise ended_error(by_id(rental.id))
    rental_job.send_action(rental.id, "finish")
    return moved


def cancel(user_id: int, rental_id: str | int) -> Rental:
    """Within CANCEL_WINDOW of its start and before any SMS: refunded in full. A PENDING rental
    is cancelled at once (a number rented meanwhile goes back upstream)."""
    rental = get_for_owner(user_id, rental_id)
    _check_cancellable(rental)
    action = "cancel" if rental.provider_id is not None else None
    moved = rental_states.move(rental.id, user_id, rt.CANCELED, {"provider_action": action})
    if moved is None:  # an SMS, an expiry or another request came first
        _check_cancellable(by_id(rental.id))
        raise ended_error(by_id(rental.id))
    if action:
        rental_job.send_action(rental.id, action)
    return moved


def _check_cancellable(rental: Rental) -> None:
    if rental.status == rt.RECEIVED:
        raise RentCancelWindowOver(reason="an SMS arrived")
    if rental.status == rt.WAITING and utcnow() - rental.started_at >= rt.CANCEL_WINDOW:
        raise RentCancelWindowOver(reason="more than 20 minutes since the start")
    if rental.status not in (rt.PENDING, rt.WAITING):
        raise ended_error(rental)
