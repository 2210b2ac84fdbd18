"""The event log: append inside the transaction that made the change; read per account by cursor.

Ordering. Event ids come from one sequence, but on PostgreSQL a transaction can take an id and
commit after another transaction that took a later one; a reader that saw the later id and moved
its cursor past it would never see the earlier row. So a transaction appends an account's events
only while it holds that account's lock (lock_account: its wallet row, which every debit and
credit locks too), taken before it touches any activation row. Within one account, ids are then
taken and committed in the same order, and "after id N" is a safe cursor. SQLite has one writer
at a time, which orders them already.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from decimal import Decimal

from ..db import is_sqlite
from ..extensions import db
from ..models import Event

MAX_PAGE = 500


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def lock_account(user_id: int) -> None:
    """Hold the account's lock until the transaction ends (PostgreSQL; SQLite's write lock
    covers it). Take it before any activation row, and several in ascending user id order."""
    if is_sqlite():
        return
    db.execute_sql('SELECT id FROM "wallet" WHERE user_id = %s FOR UPDATE', (user_id,))


def append(user_id: int, event_type: str, payload: dict, activation_id: int | None = None) -> int:
    """One event, in the caller's transaction (which holds the account's lock); its id."""
    return Event.insert(
        user=user_id,
        activation=activation_id,
        type=event_type,
        payload=json.dumps(payload, default=_json_default, separators=(",", ":")),
    ).execute()


def after(
    user_id: int,
    cursor: int = 0,
    types: Iterable[str] | None = None,
    activation_id: int | None = None,
    limit: int = 100,
) -> list[Event]:
    """The account's events with an id above the cursor, oldest first (an index range scan)."""
    query = Event.select().where((Event.user == user_id) & (Event.id > cursor))
    if types:
        query = query.where(Event.type.in_(list(types)))
    if activation_id is not None:
        query = query.where(Event.activation == activation_id)
    return list(query.order_by(Event.id).limit(max(1, min(limit, MAX_PAGE))))


def payload_of(event: Event) -> dict:
    return json.loads(event.payload)
