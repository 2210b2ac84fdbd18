"""The rental lifecycle's machine: TRANSITIONS (models/rentals.py), the event of each target state,
and the money that moves with a state, in the same transaction.

- CANCELED, FAILED, WITHDRAWN refund every charge in full (the rental and its extensions);
- REVOKED refunds the unused part of what was paid, pro rata to the second, rounded up to the cent
  (in the customer's favour), spread over the charges newest first;
- FINISHED and EXPIRED refund nothing.

Each refund is a ledger row per charge, once: UNIQUE(rental_charge, kind) is the backstop, and the
charge's status says it was refunded. Each refund also appends `rental.refunded`.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_CEILING, Decimal

from .. import representation
from ..models import Rental, RentalCharge
from ..models import events as types
from ..models import rentals as rt
from ..models.base import utcnow
from ..money import CENT
from . import events, wallets
from .machine import Machine

EVENT_TYPES = {
    rt.WAITING: types.RENTAL_NUMBER_ASSIGNED,
    rt.RECEIVED: types.RENTAL_SMS_RECEIVED,
    rt.FINISHED: types.RENTAL_FINISHED,
    rt.CANCELED: types.RENTAL_CANCELED,
    rt.EXPIRED: types.RENTAL_EXPIRED,
    rt.REVOKED: types.RENTAL_REVOKED,
    rt.FAILED: types.RENTAL_FAILED,
    rt.WITHDRAWN: types.RENTAL_WITHDRAWN,
}
REFUNDED_IN_FULL = (rt.CANCELED, rt.FAILED, rt.WITHDRAWN)

# What a move reads back: what the representation shows, the owner, the upstream's handle.
COLUMNS = (
    Rental.id,
    Rental.public_id,
    Rental.user,
    Rental.status,
    Rental.service,
    Rental.country,
    Rental.operator,
    Rental.phone_number,
    Rental.hours,
    Rental.user_cost,
    Rental.created_at,
    Rental.started_at,
    Rental.ends_at,
    Rental.provider,
    Rental.provider_ref,
)

RENTALS = Machine(Rental, rt.TRANSITIONS, EVENT_TYPES, representation.rental, COLUMNS, subject="rental_id")


def move(
    rental_id: int,
    user_id: int,
    target: str,
    changes: dict | None = None,
    known: dict | None = None,
    now: datetime.datetime | None = None,
) -> Rental | None:
    """The one way a rental's status changes (Machine.move), with the money of its target state.
    The row as it is now, or None if another change won. `now` dates a revocation's refund."""
    known = {"known_messages": [], **(known or {})}
    if target in REFUNDED_IN_FULL:
        return RENTALS.move(rental_id, user_id, target, changes, then=_refund_in_full, known=known)
    if target == rt.REVOKED:
        at = now or utcnow()

        def refund_unused(row: Rental, recording: events.Recording) -> None:
            _refund_unused(row, recording, at)

        return RENTALS.move(rental_id, user_id, target, changes, then=refund_unused, known=known)
    return RENTALS.move(rental_id, user_id, target, changes, known=known)


def assign(rental_id: int, user_id: int, changes: dict) -> Rental | None:
    """PENDING -> WAITING with the number: the rental's own charge is paid, in the same transaction."""

    def paid(row: Rental, recording: events.Recording) -> None:
        RentalCharge.update(state="paid", provider_cost=changes.get("provider_cost")).where(
            (RentalCharge.rental == row.id) & (RentalCharge.seq == 0) & (RentalCharge.state == "pending")
        ).execute()

    return RENTALS.move(rental_id, user_id, rt.WAITING, changes, then=paid, known={"known_messages": []})


def created(rental: Rental) -> None:
    """The event of a new rental, inside the recording() that inserted it."""
    rental.known_messages = []
    events.add(rental.user_id, types.RENTAL_CREATED, representation.rental(rental), rental_id=rental.id)


def _charges(rental: Rental, states: tuple[str, ...]) -> list[RentalCharge]:
    found = RentalCharge.select().where((RentalCharge.rental == rental.id) & RentalCharge.state.in_(states))
    charges = list(found.order_by(RentalCharge.seq.desc()))
    for charge in charges:
        charge.rental = rental  # the ledger row shows the rental's public id: no query
    return charges


def _refund(rental: Rental, recording: events.Recording, amounts: list[tuple[RentalCharge, Decimal]]) -> Decimal:
    """Refund each (charge, amount) once and mark the charges refunded; the total given back."""
    total = Decimal("0.00")
    for charge, amount in amounts:
        RentalCharge.update(state="refunded").where(RentalCharge.id == charge.id).execute()
        if wallets.refund_rental_charge(rental.user_id, charge, amount):
            total += amount
    if total:
        recording.add(rental.user_id, types.RENTAL_REFUNDED, representation.rental(rental), rental_id=rental.id)
    return total


def _refund_in_full(rental: Rental, recording: events.Recording) -> None:
    charges = _charges(rental, ("pending", "paid"))
    _refund(rental, recording, [(charge, charge.amount) for charge in charges])


def _refund_unused(rental: Rental, recording: events.Recording, now: datetime.datetime) -> None:
    paid = _charges(rental, ("paid",))
    left = unused_part(sum((c.amount for c in paid), Decimal("0.00")), rental.started_at, rental.ends_at, now)
    amounts = []
    for charge in paid:  # newest first
        part = min(left, charge.amount)
        if part > 0:
            amounts.append((charge, part))
            left -= part
    # An extension still being bought (pending) was never used: all of it goes back.
    amounts += [(charge, charge.amount) for charge in _charges(rental, ("pending",))]
    _refund(rental, recording, amounts)


def unused_part(
    paid: Decimal, started: datetime.datetime | None, ends: datetime.datetime, now: datetime.datetime
) -> Decimal:
    """What was paid for the time from `now` to the end, pro rata to the microsecond, rounded up
    to the cent: a revoked number's refund."""
    if started is None or ends <= started:
        return paid
    one = datetime.timedelta(microseconds=1)
    span, unused = (ends - started) // one, max(0, (ends - now) // one)
    share = (paid * Decimal(min(unused, span)) / Decimal(span)).quantize(CENT, rounding=ROUND_CEILING)
    return min(share, paid)
