"""The activation engine behind both API styles and the workers.

Web side: purchase() debits and records a PENDING activation in one transaction, then the
purchase job (fulfil) buys the number upstream outside any transaction. Every state change
is a compare-and-set UPDATE on the status, so racing cancels, expiries and SMS resolve to
one winner, and only a winner that refunds writes the (unique) refund ledger row.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal

import peewee
from flask import current_app
from rq.job import Job
from rq.results import Result

from ..auth import Caller
from ..compiled import compiled_insert, compiled_rows
from ..db import write_transaction
from ..errors import ActivationNotFound, BadStatus, EarlyCancelDenied, NoNumbers, OrderAlreadyExists, PriceTooHigh
from ..extensions import db, get_redis
from ..models import Activation, Country, Service, Sms
from ..models import activations as st
from ..models.base import utcnow
from ..queues import SERIALIZER, enqueue_new_purchase, enqueue_provider_action
from . import guardrails, routing, wallets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Order:
    service: Service
    country: Country
    operator: str = "any"
    max_price: Decimal | None = None
    idempotency_key: str | None = None


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
    """Debit the wallet and record a PENDING activation, then enqueue the purchase job."""
    return _place(caller, order)[0]


def _place(caller: Caller, order: Order) -> tuple[Activation, Job | None]:
    """purchase(), with the job it enqueued (None for a repeated idempotency key)."""
    if order.idempotency_key:
        earlier = _by_idempotency_key(caller.user_id, order.idempotency_key)
        if earlier is not None:
            return earlier, None
    price = quote(order)
    now = utcnow()
    try:
        with write_transaction():
            guardrails.count_purchase(caller, price)
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
                "expires_at": now + datetime.timedelta(seconds=_setting("ACTIVATION_LIFETIME_SECONDS")),
            }
            activation = compiled_insert("new-activation", Activation, values)
            wallets.debit_for(activation, caller.user_id)
    except peewee.IntegrityError:
        earlier = order.idempotency_key and _by_idempotency_key(caller.user_id, order.idempotency_key)
        if not earlier:
            raise
        return earlier, None
    return activation, enqueue_new_purchase(activation.id)  # after commit: the job must see the row


def _by_idempotency_key(user_id: int, key: str) -> Activation | None:
    return Activation.get_or_none((Activation.user == user_id) & (Activation.idempotency_key == key))


def buy(caller: Caller, order: Order) -> Activation:
    """Purchase and wait briefly for the number, so most answers carry it."""
    activation, job = _place(caller, order)
    if activation.status != st.PENDING:
        return activation
    outcome = _wait_for_job(activation.id, job)
    if job is not None and outcome is not None and outcome.get("phone_number"):
        return _as_recorded(activation, outcome)
    return by_id(activation.id)  # the row is the truth


def _as_recorded(activation: Activation, outcome: dict) -> Activation:
    """The activation as the job that bought its number left it (fulfilment.record_number): its
    state at that moment, without reading it back. The poller asks only about recorded numbers,
    so none of its messages can be stored yet: the answer's list is empty, not queried."""
    activation.status = outcome["status"]
    activation.phone_number = outcome["phone_number"]
    activation.expires_at = datetime.datetime.fromisoformat(outcome["expires_at"])
    activation.known_messages = []  # read by the API's ActivationSchema instead of a query
    return activation


def _wait_for_job(activation_id: int, job: Job | None) -> dict | None:
    """The purchase job's outcome (fulfilment.fulfil), or None if it is not done in time."""
    wait = _setting("PURCHASE_WAIT_SECONDS")
    if wait <= 0:
        return None
    if job is None:  # a repeated order: wait on the job its first request enqueued, if still there
        try:
            job = Job.fetch(f"purchase-{activation_id}", connection=get_redis(), serializer=SERIALIZER)
        except Exception:  # noqa: BLE001 - no job (already expired or run inline): nothing to wait for
            return None
    result = job.latest_result(timeout=max(1, int(round(wait))))
    if result is None or result.type != Result.Type.SUCCESSFUL:
        return None
    return result.return_value


def by_id(activation_id: int) -> Activation:
    """One activation by its number, through the compiled SELECT."""
    found = compiled_rows(
        "activation-by-id", lambda: Activation.select().where(Activation.id == activation_id), activation_id
    )
    if not found:
        raise Activation.DoesNotExist(f"activation {activation_id}")
    return found[0]


def get_for_owner(user_id: int, activation_id: str | int) -> Activation:
    """By opaque id or legacy number; another user's activation is simply not found."""
    return _owned(user_id, activation_id, "activation", Activation.select)


# What an answer about an activation shows (the REST API's ActivationSchema): a status poll over
# REST reads these, not the whole row (each datetime column costs a parse on SQLite).
SHOWN = (
    Activation.id,
    Activation.public_id,
    Activation.phone_number,
    Activation.status,
    Activation.user_cost,
    Activation.service,
    Activation.country,
    Activation.operator,
    Activation.sms_code,
    Activation.created_at,
    Activation.expires_at,
)


def shown_for_owner(user_id: int, activation_id: str | int) -> Activation:
    """get_for_owner() reading only the columns its answer shows (SHOWN)."""
    return _owned(user_id, activation_id, "shown", lambda: Activation.select(*SHOWN))


def status_for_owner(user_id: int, activation_id: str | int) -> Activation:
    """get_for_owner() reading only the status and the code: all a status poll answers with."""
    return _owned(user_id, activation_id, "status", lambda: Activation.select(Activation.status, Activation.sms_code))


def _owned(user_id: int, activation_id: str | int, what: str, select) -> Activation:
    text = str(activation_id).strip()
    if text.isascii() and text.isdigit() and len(text) <= 10:
        column, value = Activation.id, int(text)
    elif text.startswith("act_") and len(text) <= 32:
        column, value = Activation.public_id, text
    else:
        raise ActivationNotFound(id=text[:40])
    # Both columns are unique: at most one row, so no LIMIT. Parameters: owner, then the id.
    found = compiled_rows(
        f"{what}-of-owner-by-{column.name}",
        lambda: select().where((Activation.user == user_id) & (column == value)),
        user_id,
        value,
    )
    if not found:
        raise ActivationNotFound(id=text[:40])
    return found[0]


def list_for_owner(user_id: int, status: str | None = None):
    query = Activation.select().where(Activation.user == user_id).order_by(Activation.id.desc())
    if status:
        query = query.where(Activation.status == status)
    return query


def _move(activation_id: int, allowed_from: tuple[str, ...], **changes) -> bool:
    changes.setdefault("updated_at", utcnow())
    rows = (
        Activation.update(**changes)
        .where((Activation.id == activation_id) & (Activation.status.in_(allowed_from)))
        .execute()
    )
    return rows == 1


def cancel(user_id: int, activation_id: str | int) -> Activation:
    activation = get_for_owner(user_id, activation_id)
    if activation.status == st.CANCELED:
        return activation  # a repeat answers the same
    if activation.status != st.WAITING:
        raise BadStatus(status=activation.status)
    held = (utcnow() - activation.created_at).total_seconds()
    lock = _setting("CANCEL_LOCK_SECONDS")
    if held < lock:
        raise EarlyCancelDenied(retryAfter=int(lock - held) + 1)
    if not close_with_refund(activation.id, st.CANCELED, (st.WAITING,)):
        return _after_lost_race(activation.id, st.CANCELED)
    enqueue_provider_action(activation.id, "cancel")
    return Activation.get_by_id(activation.id)


def _after_lost_race(activation_id: int, wanted: str) -> Activation:
    activation = Activation.get_by_id(activation_id)
    if activation.status == wanted:
        return activation
    raise BadStatus(status=activation.status)


def close_with_refund(activation_id: int, status: str, allowed_from: tuple[str, ...]) -> bool:
    """Move to a refunded terminal state and refund, atomically; False if another change won."""
    with db.atomic():
        if not _move(activation_id, allowed_from, status=status):
            return False
        wallets.refund_for(Activation.get_by_id(activation_id))
    return True


def finish(user_id: int, activation_id: str | int) -> Activation:
    activation = get_for_owner(user_id, activation_id)
    if activation.status == st.COMPLETED:
        return activation
    if activation.status not in (st.RECEIVED, st.RETRY) or not activation.sms_code:
        raise BadStatus(status=activation.status)
    if not _move(activation.id, (st.RECEIVED, st.RETRY), status=st.COMPLETED):
        return _after_lost_race(activation.id, st.COMPLETED)
    enqueue_provider_action(activation.id, "finish")
    return Activation.get_by_id(activation.id)


def request_another_code(user_id: int, activation_id: str | int) -> Activation:
    """Ask for one more SMS, free. Before any code it simply keeps waiting."""
    activation = get_for_owner(user_id, activation_id)
    if activation.status in (st.WAITING, st.RETRY):
        return activation
    if activation.status != st.RECEIVED:
        raise BadStatus(status=activation.status)
    if not _move(activation.id, (st.RECEIVED,), status=st.RETRY):
        return _after_lost_race(activation.id, st.RETRY)
    count = activation.messages.count()
    enqueue_provider_action(activation.id, "another", attempt_key=f"-{count}")
    return Activation.get_by_id(activation.id)


def buy_now(caller: Caller, order: Order, reject_repeat: bool = False) -> Activation:
    """Buy for a client that must get the number in this very answer (the legacy protocol).

    That protocol has no PENDING state, so a purchase still PENDING after the wait is withdrawn
    and refunded in full (FAILED). If the purchase job wins the race the client gets its
    number; if the withdrawal wins, the job finds no PENDING row and buys nothing, or releases
    the number it had just bought. With reject_repeat, an idempotency key that names an
    earlier purchase raises OrderAlreadyExists instead of returning it.
    """
    started = utcnow()
    activation = buy(caller, order)
    if reject_repeat and order.idempotency_key and activation.created_at < started:
        raise OrderAlreadyExists(id=activation.id)
    if activation.status != st.PENDING:
        return activation
    if close_with_refund(activation.id, st.FAILED, (st.PENDING,)):
        log.info("purchase of activation %s withdrawn: still pending after the wait", activation.id)
    return Activation.get_by_id(activation.id)


def mark_ready(user_id: int, activation_id: str | int) -> Activation:
    """The client says it asked the target site for the SMS: allowed while the number is held."""
    activation = get_for_owner(user_id, activation_id)
    if activation.status not in (st.PENDING, *st.OPEN):
        raise BadStatus(status=activation.status)
    return activation


def with_messages(user_id: int, activation_id: str | int) -> tuple[Activation, list[Sms]]:
    """One activation of its owner and its messages, oldest first."""
    return _with_messages(Activation.select().where(Activation.id == get_for_owner(user_id, activation_id).id))[0]


def active_for_owner(user_id: int, offset: int = 0, limit: int = 500) -> list[tuple[Activation, list[Sms]]]:
    """The owner's activations that hold a number (waiting for, or with, a code), oldest first."""
    query = _with_country().where((Activation.user == user_id) & Activation.status.in_(st.OPEN))
    return _with_messages(query.order_by(Activation.id).offset(offset).limit(limit))


def history_for_owner(
    user_id: int, since: datetime.datetime, until: datetime.datetime, offset: int = 0, limit: int = 50
) -> list[tuple[Activation, list[Sms]]]:
    """The owner's activations bought in [since, until), newest first."""
    query = _with_country().where(
        (Activation.user == user_id) & (Activation.created_at >= since) & (Activation.created_at < until)
    )
    return _with_messages(query.order_by(Activation.id.desc()).offset(offset).limit(limit))


def _with_country():
    return Activation.select(Activation, Country).join(Country)


def _with_messages(query) -> list[tuple[Activation, list[Sms]]]:
    """Two queries for any number of activations: the rows, then all their messages."""
    rows = list(query)
    messages: dict[int, list[Sms]] = {row.id: [] for row in rows}
    if rows:
        found = Sms.select().where(Sms.activation.in_(list(messages))).order_by(Sms.received_at, Sms.id)
        for sms in found:
            messages[sms.activation_id].append(sms)
    return [(row, messages[row.id]) for row in rows]
