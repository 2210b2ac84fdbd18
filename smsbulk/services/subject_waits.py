"""Waiting for one activation or rental to change: REST `?wait=` and legacy `getStatus&wait=`,
`getRentStatus&wait=`.

What the client "last saw" is, over REST, the ETag of the answer it last got (If-None-Match, or
`since` for clients that cannot set headers): the answer is its exact bytes, so the tag changes
when anything shown changes (its status, its messages). A call that names no version saw
nothing yet; it still waits while its subject waits for something (an activation PENDING,
WAITING or RETRY; a rental being rented or active, for its next SMS) until that answer changes,
so a bot that simply adds `wait=25` to its loop gets its code in one call instead of twenty. A
call on a subject that waits for nothing answers at once. Over the legacy protocol the answer
compared is the protocol's reply. Wake-ups come from the subject's own events (services/waits.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from .. import representation
from ..models import activations as st
from ..models import rentals as rt
from . import rentals, snapshots, waits

WAITING_FOR_SOMETHING = {"a": (st.PENDING, st.WAITING, st.RETRY), "r": (rt.PENDING, *rt.ACTIVE)}
T = TypeVar("T")


def shown_activation(user_id: int, activation_id: str | int) -> snapshots.Shown:
    """From its snapshot (services/snapshots.py): the database only on a miss."""
    return snapshots.read(user_id, activation_id, snapshots.REST_FIELDS).shown


def shown_rental(user_id: int, rental_id: str | int) -> snapshots.Shown:
    row = rentals.with_messages(user_id, rental_id)[0]
    body = json.dumps(representation.rental(row), separators=(",", ":")).encode()
    return snapshots.shown_of(row.id, row.status, body)


def activation_when_changed(user_id: int, activation_id: str | int, seen: str | None, wait: float) -> snapshots.Shown:
    """The activation as REST shows it, once it differs from the answer tagged `seen` (with no
    tag: from the first read, if it waits for something), or when `wait` seconds are up."""
    return _when_changed(user_id, "a", lambda key: shown_activation(user_id, key), activation_id, seen, wait)


def rental_when_changed(user_id: int, rental_id: str | int, seen: str | None, wait: float) -> snapshots.Shown:
    """The rental with its SMS as REST shows it, on the same terms (an active rental waits for
    its next SMS)."""
    return _when_changed(user_id, "r", lambda key: shown_rental(user_id, key), rental_id, seen, wait)


def _when_changed(
    user_id: int, kind: str, read: Callable, key: str | int, seen: str | None, wait: float
) -> snapshots.Shown:
    first = read(key)  # unknown or foreign ids fail here, before any wait
    if seen is None:
        if first.status not in WAITING_FOR_SOMETHING[kind]:
            return first
        seen = first.etag
    if wait <= 0 or first.etag != seen:
        return first
    return waits.watch(user_id, f"{kind}{first.id}", lambda: read(first.id), lambda now: now.etag != seen, wait)


def status_when_changed(user_id: int, activation_id: int, wait: float) -> snapshots.Snapshot:
    """getStatus: the activation's snapshot, once its getStatus reply differs from the first
    read's, if that one waited for something; or when `wait` is up."""
    read = lambda: snapshots.read(user_id, activation_id, snapshots.LEGACY_FIELDS)  # noqa: E731
    answer = lambda found: found.legacy_status  # noqa: E731
    return _legacy_when_changed(user_id, "a", activation_id, wait, read, lambda found: found.status, answer)


def rent_status_when_changed(user_id: int, rental_id: int, wait: float, answer: Callable[[T], object]):
    """getRentStatus: the rental and its SMS, on the same terms (an active rental waits for its
    next SMS)."""
    read = lambda: rentals.with_messages(user_id, rental_id)  # noqa: E731
    return _legacy_when_changed(user_id, "r", rental_id, wait, read, lambda found: found[0].status, answer)


def _legacy_when_changed(user_id: int, kind: str, subject_id: int, wait: float, read, status_of, answer):
    first = read()
    if wait <= 0 or status_of(first) not in WAITING_FOR_SOMETHING[kind]:
        return first
    before = answer(first)
    return waits.watch(user_id, f"{kind}{subject_id}", read, lambda now: answer(now) != before, wait)
