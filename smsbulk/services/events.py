"""The event log: appended inside the transaction that made the change, read per account by cursor.

Ordering. Event ids come from one sequence, but on PostgreSQL a transaction can take an id and
commit after another transaction that took a later one; a reader that saw the later id and moved
its cursor past it would never see the earlier row. So a transaction appends an account's events
only while it holds that account's lock (its wallet row, which every debit and credit locks too),
taken before it touches any activation row, and several accounts' locks in ascending user id.
Within one account, ids are then taken and committed in the same order, and "after id N" is a safe
cursor. SQLite has one writer at a time, which orders them already.

Every writer goes through recording(): it opens the write transaction, takes the locks, collects
the events, inserts them in one statement at the end, and after the commit hands them to the
listeners registered with on_commit() (wake-ups of waiters, snapshots): the one place where "these
events were just committed" is known. A change that shows without being an event (a message
without a code: services/lifecycle.py) is named with touch(), and the listeners hear of it too.
A listener's failure is logged, never raised: the change is committed and its caller must hear so.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from ..compiled import compiled_rows
from ..db import is_sqlite, write_transaction
from ..extensions import db
from ..models import Event
from ..models.base import utcnow

log = logging.getLogger(__name__)

MAX_PAGE = 500
INSERT_ROWS = 100  # events per INSERT statement


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(payload: dict) -> str:
    return json.dumps(payload, default=_json_default, separators=(",", ":"))


@dataclass
class Appended:
    """One event of a transaction; `id` is set when it is inserted."""

    user_id: int
    type: str
    payload: dict
    activation_id: int | None = None
    rental_id: int | None = None
    created_at: datetime.datetime = field(default_factory=utcnow)
    id: int | None = None


Listener = Callable[[list[Appended], dict[int, int]], None]  # the events; activations touched -> owner
_listeners: list[Listener] = []
_local = threading.local()


def on_commit(listener: Listener) -> Listener:
    """Call listener(events, touched) after every commit that appended events or touched an
    activation (in the committing thread)."""
    _listeners.append(listener)
    return listener


class Recording:
    """The events of one write transaction and the accounts it holds locked."""

    def __init__(self) -> None:
        self.events: list[Appended] = []
        self.locked: set[int] = set()
        self.touched: dict[int, int] = {}  # activation -> owner: its answers changed without an event

    def lock(self, user_ids: Iterable[int]) -> None:
        """Take these accounts' locks (PostgreSQL; SQLite's write lock covers them), in ascending
        user id, those not held yet. Call it before touching any of their activation rows."""
        wanted = sorted(set(user_ids) - self.locked)
        if not wanted:
            return
        if not is_sqlite():
            marks = ", ".join(["%s"] * len(wanted))
            db.execute_sql(f'SELECT id FROM "wallet" WHERE user_id IN ({marks}) ORDER BY user_id FOR UPDATE', wanted)
        self.locked.update(wanted)

    def add(
        self,
        user_id: int,
        event_type: str,
        payload: dict,
        activation_id: int | None = None,
        rental_id: int | None = None,
    ) -> Appended:
        if user_id not in self.locked:
            raise RuntimeError(f"an event of account {user_id} appended without holding its lock")
        event = Appended(user_id, event_type, payload, activation_id, rental_id)
        self.events.append(event)
        return event

    def flush(self) -> None:
        """Insert the events not inserted yet, INSERT_ROWS per statement; their ids come back."""
        new = [event for event in self.events if event.id is None]
        for start in range(0, len(new), INSERT_ROWS):
            _insert(new[start : start + INSERT_ROWS])


def _insert(batch: list[Appended]) -> None:
    rows = [
        {
            "created_at": e.created_at,
            "user": e.user_id,
            "activation": e.activation_id,
            "rental": e.rental_id,
            "type": e.type,
            "payload": to_json(e.payload),
        }
        for e in batch
    ]
    params = [value for row in rows for value in row.values()]
    returned = compiled_rows(f"events-{len(rows)}", lambda: Event.insert_many(rows).returning(Event.id), *params)
    # Ids are taken in the order of the VALUES; RETURNING's order is not promised: sort them.
    for event, event_id in zip(batch, sorted(row.id for row in returned), strict=True):
        event.id = event_id


@contextlib.contextmanager
def recording(*user_ids: int, lock: bool = True) -> Iterator[Recording]:
    """A write transaction that holds these accounts' locks and appends events.

    lock=False: the caller's first statement locks the accounts itself (a debit or credit: an
    UPDATE of the wallet row). Nested, it joins the outer transaction (the outer one inserts and
    publishes); events added in a nested block that raises are dropped with it."""
    outer = getattr(_local, "recording", None)
    if outer is not None:
        mark = len(outer.events)
        if lock:
            outer.lock(user_ids)
        else:
            outer.locked.update(user_ids)
        try:
            yield outer
        except BaseException:
            del outer.events[mark:]
            raise
        return
    current = _local.recording = Recording()
    try:
        with write_transaction():
            if lock:
                current.lock(user_ids)
            else:
                current.locked.update(user_ids)
            yield current
            current.flush()
    finally:
        _local.recording = None
    _publish(current.events, current.touched)


def _publish(committed: list[Appended], touched: dict[int, int]) -> None:
    if not committed and not touched:
        return
    for listener in _listeners:
        try:
            listener(committed, touched)
        except Exception:  # noqa: BLE001 - the change is committed: its caller must hear so
            log.exception("event listener %r failed", listener)


def add(
    user_id: int, event_type: str, payload: dict, activation_id: int | None = None, rental_id: int | None = None
) -> Appended:
    """Append an event to the transaction recording() opened (which holds the account's lock)."""
    current = getattr(_local, "recording", None)
    if current is None:
        raise RuntimeError("events are appended only inside events.recording()")
    return current.add(user_id, event_type, payload, activation_id, rental_id)


def touch(activation_id: int, user_id: int) -> None:
    """An activation shows differently, with no event (a message without a code): the listeners
    hear of it after the commit of the recording() this runs in."""
    current = getattr(_local, "recording", None)
    if current is None:
        raise RuntimeError("an activation is touched only inside events.recording()")
    current.touched[activation_id] = user_id


def lock_account(user_id: int) -> None:
    """Hold the account's lock until the transaction ends (see Recording.lock)."""
    current = getattr(_local, "recording", None)
    if current is not None:
        current.lock([user_id])
    elif not is_sqlite():
        db.execute_sql('SELECT id FROM "wallet" WHERE user_id = %s FOR UPDATE', (user_id,))


def after(
    user_id: int,
    cursor: int = 0,
    types: Iterable[str] | None = None,
    activation_id: int | None = None,
    limit: int = 100,
    rental_id: int | None = None,
) -> list[Event]:
    """The account's events with an id above the cursor, oldest first (an index range scan)."""
    query = Event.select().where((Event.user == user_id) & (Event.id > cursor))
    if types:
        query = query.where(Event.type.in_(list(types)))
    if activation_id is not None:
        query = query.where(Event.activation == activation_id)
    if rental_id is not None:
        query = query.where(Event.rental == rental_id)
    return list(query.order_by(Event.id).limit(max(1, min(limit, MAX_PAGE))))


def payload_of(event: Event) -> dict:
    return json.loads(event.payload)
