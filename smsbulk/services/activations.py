"""The activation engine behind both API styles: an owner's reads and actions.

Buying lives in purchases.py (web side) and fulfilment.py (the job); every change of status
goes through states.move(), a compare-and-set with its event, so racing cancels, expiries and
SMS resolve to one winner, and only a winner that refunds writes the (unique) refund row.
"""

from __future__ import annotations

import datetime
import logging

import redis
from flask import current_app

from ..compiled import compiled_rows
from ..errors import ActivationNotFound, BadStatus, EarlyCancelDenied
from ..models import Activation, Country, Sms
from ..models import activations as st
from ..models.base import utcnow
from ..queues import enqueue_provider_action
from . import states
from .purchases import Order, buy, buy_now, by_id, new_public_id, purchase, quote

__all__ = ["Order", "buy", "buy_now", "by_id", "new_public_id", "purchase", "quote"]

log = logging.getLogger(__name__)


def get_for_owner(user_id: int, activation_id: str | int) -> Activation:
    """By opaque id or legacy number; another user's activation is simply not found."""
    return _owned(user_id, activation_id, "activation", Activation.select)


SHOWN = states.SHOWN


def shown_for_owner(user_id: int, activation_id: str | int) -> Activation:
    """get_for_owner() reading only the columns its answer shows (SHOWN)."""
    return _owned(user_id, activation_id, "shown", lambda: Activation.select(*SHOWN))


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


def _changed(user_id: int, activation: Activation, target: str, action: str | None = None) -> Activation:
    """Move an owner's activation; the moved row, or the row as a racing change left it (the same
    answer when that change reached the same state, BadStatus otherwise). An upstream action owed
    by the move is recorded on the row and its job enqueued after the commit."""
    moved = states.move(activation.id, user_id, target, {"provider_action": action} if action else None)
    if moved is None:
        current = Activation.get_by_id(activation.id)
        if current.status == target:
            return current
        raise BadStatus(status=current.status)
    if action:
        send_provider_action(moved.id, action)
    return moved


def send_provider_action(activation_id: int, action: str, attempt_key: str = "") -> None:
    """Enqueue the upstream action a move recorded as owed; the recovery pass re-sends it if the
    queue cannot be reached now."""
    try:
        enqueue_provider_action(activation_id, action, attempt_key)
    except redis.RedisError as exc:
        log.warning(
            "activation %s: %s not queued (%s); recovery will send it", activation_id, action, type(exc).__name__
        )


def cancel(user_id: int, activation_id: str | int) -> Activation:
    """Before any code: refunded in full. A PENDING purchase is cancelled at once (no number yet;
    one bought meanwhile goes back upstream); a number is held for the early-cancel lock first."""
    activation = get_for_owner(user_id, activation_id)
    if activation.status == st.CANCELED:
        return activation  # a repeat answers the same
    if activation.status not in (st.PENDING, st.WAITING):
        raise BadStatus(status=activation.status)
    if activation.status == st.WAITING:
        held = (utcnow() - activation.created_at).total_seconds()
        lock = current_app.config["CANCEL_LOCK_SECONDS"]
        if held < lock:
            raise EarlyCancelDenied(retryAfter=int(lock - held) + 1)
    action = "cancel" if activation.provider_id is not None else None
    return _changed(user_id, activation, st.CANCELED, action)


def finish(user_id: int, activation_id: str | int) -> Activation:
    activation = get_for_owner(user_id, activation_id)
    if activation.status == st.COMPLETED:
        return activation
    if activation.status not in (st.RECEIVED, st.RETRY) or not activation.sms_code:
        raise BadStatus(status=activation.status)
    return _changed(user_id, activation, st.COMPLETED, "finish")


def request_another_code(user_id: int, activation_id: str | int) -> Activation:
    """Ask for one more SMS, free. Before any code it simply keeps waiting."""
    activation = get_for_owner(user_id, activation_id)
    if activation.status in (st.WAITING, st.RETRY):
        return activation
    if activation.status != st.RECEIVED:
        raise BadStatus(status=activation.status)
    return _changed(user_id, activation, st.RETRY, "another")


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
    return _with_messages(history_query(user_id, since, until).offset(offset).limit(limit))


def history_query(user_id: int, since: datetime.datetime, until: datetime.datetime):
    """A range of the (user, created_at, id) index, read backwards from the window's end, however
    far back the window lies (ordered by id, a window months back walked every newer row first)."""
    query = _with_country().where(
        (Activation.user == user_id) & (Activation.created_at >= since) & (Activation.created_at < until)
    )
    return query.order_by(Activation.created_at.desc(), Activation.id.desc())


def history_for_owner_latest(user_id: int, limit: int) -> list[tuple[Activation, list[Sms]]]:
    """The owner's latest activations, newest first."""
    query = _with_country().where(Activation.user == user_id)
    return _with_messages(query.order_by(Activation.id.desc()).limit(limit))


def _with_country():
    return Activation.select(Activation, Country).join(Country)


def _with_messages(query) -> list[tuple[Activation, list[Sms]]]:
    """Two queries for any number of activations: the rows, then all their messages (none shown
    on a refunded activation: representation.messages_of)."""
    rows = list(query)
    messages: dict[int, list[Sms]] = {row.id: [] for row in rows if row.status not in st.REFUNDED}
    if messages:
        found = Sms.select().where(Sms.activation.in_(list(messages))).order_by(Sms.received_at, Sms.id)
        for sms in found:
            messages[sms.activation_id].append(sms)
    return [(row, messages.get(row.id, [])) for row in rows]
