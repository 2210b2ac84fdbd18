"""The events API: an account's events after a cursor, oldest first, optionally waiting for one.

An event is shown the same way everywhere it leaves the service - in the events API and as a
webhook's body: its id (also the cursor to read on from), type, time and data (the activation,
ledger entry, rental or key as the REST API showed it when the event happened).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from ..models import Event
from . import waits

MAX_PAGE = 500
DEFAULT_PAGE = 100


def timestamp(value) -> str:
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def document(event_id: int, event_type: str, created_at, payload: str) -> str:
    """An event as JSON text, its stored payload copied in verbatim (it is JSON already)."""
    head = json.dumps({"id": event_id, "type": event_type, "timestamp": timestamp(created_at)}, separators=(",", ":"))
    return f'{head[:-1]},"data":{payload or "{}"}}}'


@dataclass(frozen=True)
class Page:
    events: list[dict]
    cursor: int  # where to read on from: the last event shown, or the cursor asked for if none
    has_more: bool


def _type_filter(types: Iterable[str]):
    """Exact types, or `family.*` for every type of a family."""
    exact = [name for name in types if not name.endswith(".*")]
    families = [name[:-1] for name in types if name.endswith(".*")]
    condition = Event.type.in_(exact) if exact else None
    for prefix in families:
        clause = Event.type.startswith(prefix)
        condition = clause if condition is None else condition | clause
    return condition


def read(
    user_id: int,
    after: int,
    types: list[str] | None = None,
    activation_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    rental_id: int | None = None,
) -> list[Event]:
    """Up to limit + 1 events of the account after the cursor (one more tells whether more wait)."""
    limit = max(1, min(limit, MAX_PAGE))
    query = Event.select(Event.id, Event.type, Event.created_at, Event.payload).where(
        (Event.user == user_id) & (Event.id > after)
    )
    if types:
        query = query.where(_type_filter(types))
    if activation_id is not None:
        query = query.where(Event.activation == activation_id)
    if rental_id is not None:
        query = query.where(Event.rental == rental_id)
    return list(query.order_by(Event.id).limit(limit + 1))


def page(
    user_id: int,
    after: int = 0,
    types: list[str] | None = None,
    activation_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    wait: float = 0,
    rental_id: int | None = None,
) -> Page:
    """The account's events after the cursor; with `wait`, until at least one exists (at most
    30 s), woken through Redis within milliseconds of the commit (services/waits.py)."""
    subject = f"a{activation_id}" if activation_id is not None else f"r{rental_id}" if rental_id is not None else None
    rows = waits.watch(
        user_id, subject, lambda: read(user_id, after, types, activation_id, limit, rental_id), bool, wait
    )
    shown = rows[: max(1, min(limit, MAX_PAGE))]
    events = [
        {
            "id": row.id,
            "type": row.type,
            "timestamp": timestamp(row.created_at),
            "data": json.loads(row.payload or "{}"),
        }
        for row in shown
    ]
    return Page(events, shown[-1].id if shown else after, len(rows) > len(shown))
