"""Buying a number, web side: debit and record a PENDING activation in one transaction, hand it to
the purchase job, wait briefly for the number.

The committed row is the order: once it exists the buyer is charged, so from then on nothing
answers an error. A queue that cannot be reached leaves the row PENDING (REST answers 202, the
recovery pass drives it); a legacy buyer, whose protocol has no pending state, gets its purchase
withdrawn and refunded instead (NO_NUMBERS), and a withdrawn order is never fulfilled.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal

import peewee
import redis
from flask import current_app

from ..auth import Caller
from ..compiled import compiled_insert, compiled_rows
from ..errors import NoNumbers, OrderAlreadyExists, PriceTooHigh
from ..models import Activation, Country, Service
from ..models import activations as st
from ..models.base import utcnow
from . import events, guardrails, purchase_job, routing, states, wallets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Order:
    service: Service
    country: Country
    operator: str = "any"
    max_price: Decimal | None = None
    idempotency_key: str | None = None
    # A reactivation (services/reactivations.py): the completed activation whose number to buy
    # again, at the price quoted for it.
    reactivation_of: Activation | None = None
    price: Decimal | None = None


def _setting(name: str):
    return current_app.config[name]


def new_public_id() -> str:
    return "act_" + secrets.token_hex(12)


def quote(order: Order) -> Decimal:
    """The price the user pays: the lowest price among healthy offers, never above their max price.

    The pricing rule (docs/providers.md): the user pays the lowest user price among in-stock
    offers of enabled providers whose circuit is closed - the price the catalogue shows, unless
    the cheapest provider is failing right now. The purchase job then tries offers in routing
    order (priority, then price) but only those that cost us at most what the user paid, so a
    failover never charges the user more than this quote and never sells at a loss; a dead
    provider ahead of a live one costs a failed call, not the sale.
    """
    offers = routing.candidates(order.service.code, order.country.id, order.operator)
    if not offers:
        raise NoNumbers(serviceCode=order.service.code, country=order.country.iso2)
    cheapest = min(offer.user_price for offer in offers)
    if order.max_price is not None and cheapest > order.max_price:
        raise PriceTooHigh(minPrice=f"{cheapest:f}", maxPrice=f"{order.max_price:f}")
    return cheapest


def purchase(caller: Caller, order: Order) -> Activation:
    """Debit the wallet and record a PENDING activation, then queue its purchase."""
    return _place(caller, order)[0]


def _place(caller: Caller, order: Order) -> tuple[Activation, bool]:
    """purchase(), and whether this call queued it (not for a repeated idempotency key, nor when
    the queue could not be reached: the row is committed, the recovery pass drives it)."""
    if order.idempotency_key:
        earlier = _by_idempotency_key(caller.user_id, order.idempotency_key)
        if earlier is not None:
            return earlier, False
    price = order.price if order.price is not None else quote(order)
    try:
        activation = _insert(caller, order, price)
    except peewee.IntegrityError:
        earlier = order.idempotency_key and _by_idempotency_key(caller.user_id, order.idempotency_key)
        if not earlier:
            raise
        return earlier, False
    try:
        purchase_job.enqueue_new(activation.id)  # after commit: the job must see the row
    except redis.RedisError as exc:
        log.warning(
            "activation %s: purchase not queued (%s); recovery will drive it", activation.id, type(exc).__name__
        )
        return activation, False
    return activation, True


def _insert(caller: Caller, order: Order, price: Decimal) -> Activation:
    """The order, its debit and their events, in one transaction. The debit comes first: its
    UPDATE of the wallet row is the account's lock (services/events.py)."""
    now = utcnow()
    values = {
        "public_id": new_public_id(),
        "user": caller.user_id,
        "api_key": caller.key_id,
        "service": order.service.code,
        "country": order.country.id,
        "operator": order.operator or "any",
        "user_cost": price,
        "max_price": order.max_price,
        "idempotency_key": order.idempotency_key,
        "created_at": now,
        "updated_at": now,
        # PENDING until the purchase deadline: then it fails and is refunded (recovery.py).
        "expires_at": now + datetime.timedelta(seconds=_setting("PURCHASE_DEADLINE_SECONDS")),
        "reactivation_of": order.reactivation_of.id if order.reactivation_of is not None else None,
    }
    with events.recording(caller.user_id, lock=False):
        wallet = wallets.take(caller.user_id, price)
        guardrails.count_purchase(caller, price)
        activation = compiled_insert("new-activation", Activation, values)
        states.created(activation)
        wallets.record_debit(caller.user_id, wallet, activation)
    return activation


def _by_idempotency_key(user_id: int, key: str) -> Activation | None:
    return Activation.get_or_none((Activation.user == user_id) & (Activation.idempotency_key == key))


def buy(caller: Caller, order: Order) -> Activation:
    """Purchase and wait briefly for the number, so most answers carry it."""
    activation, queued = _place(caller, order)
    if activation.status != st.PENDING:
        return activation
    outcome = purchase_job.wait(activation.id, _setting("PURCHASE_WAIT_SECONDS"))
    if queued and outcome is not None and outcome.phone_number:
        return _as_recorded(activation, outcome)
    try:
        return by_id(activation.id)  # the row is the truth
    except peewee.DatabaseError as exc:
        log.warning("activation %s: cannot read it back (%s); answering PENDING", activation.id, type(exc).__name__)
        return activation


def _as_recorded(activation: Activation, outcome: purchase_job.Outcome) -> Activation:
    """The activation as the job that bought its number left it (fulfilment.record_number): its
    state at that moment, without reading it back. The poller asks only about recorded numbers,
    so none of its messages can be stored yet: the answer's list is empty, not queried."""
    activation.status = outcome.status
    activation.phone_number = outcome.phone_number
    activation.expires_at = outcome.expires_at
    activation.known_messages = []  # read by the representation instead of a query
    return activation


def by_id(activation_id: int) -> Activation:
    """One activation by its number, through the compiled SELECT."""
    found = compiled_rows(
        "activation-by-id", lambda: Activation.select().where(Activation.id == activation_id), activation_id
    )
    if not found:
        raise Activation.DoesNotExist(f"activation {activation_id}")
    return found[0]


def buy_now(caller: Caller, order: Order, reject_repeat: bool = False) -> Activation:
    """Buy for a client that must get the number in this very answer (the legacy protocol).

    That protocol has no PENDING state, so a purchase still PENDING after the wait is withdrawn
    and refunded in full (WITHDRAWN). If the purchase job wins the race the client gets its
    number; if the withdrawal wins, the job buys nothing, or gives back the number it had just
    bought. With reject_repeat, an idempotency key that names an earlier purchase raises
    OrderAlreadyExists instead of returning it.
    """
    started = utcnow()
    activation = buy(caller, order)
    if reject_repeat and order.idempotency_key and activation.created_at < started:
        raise OrderAlreadyExists(id=activation.id)
    if activation.status != st.PENDING:
        return activation
    withdrawn = states.move(activation.id, caller.user_id, st.WITHDRAWN)
    if withdrawn is not None:
        log.info("purchase of activation %s withdrawn: still pending after the wait", activation.id)
        return withdrawn
    return by_id(activation.id)
