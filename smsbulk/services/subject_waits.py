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

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .. import representation
from ..models import activations as st
from ..models import rentals as rt
from . import activations, rentals, waits

WAITING_FOR_SOMETHING = {"a": (st.PENDING, st.WAITING, st.RETRY), "r": (rt.PENDING, *rt.ACTIVE)}
T = TypeVar("T")


@dataclass(frozen=True)
class Shown:
    """A subject's REST answer: its body and the ETag of that body."""

    id: int
    status: str
    body: bytes
    etag: str


def _shown(row, represent) -> Shown:
    body = json.dumps(represent(row), separators=(",", ":")).encode()
    return Shown(row.id, row.status, body, hashlib.blake2b(body, digest_size=10).hexdigest())


def shown_activation(user_id: int, activation_id: str | int) -> Shown:
    return _shown(activations.shown_for_owner(user_id, activation_id), representation.activation)


def shown_rental(user_id: int, rental_id: str | int) -> Shown:
    return _shown(rentals.with_messages(user_id, rental_id)[0], representation.rental)


def activation_when_changed(user_id: int, activation_id: str | int, seen: str | None, wait: float) -> Shown:
    """The activation as REST shows it, once it differs from the answer tagged `seen` (with no
    tag: from the first read, if it waits for something), or when `wait` seconds are up."""
    return _when_changed(user_id, "a", lambda key: shown_activation(user_id, key), activation_id, seen, wait)


def rental_when_changed(user_id: int, rental_id: str | int, seen: str | None, wait: float) -> Shown:
    """The rental with its SMS as REST shows it, on the same terms (an active rental waits for
    its next SMS)."""
    return _when_changed(user_id, "r", lambda key: shown_rental(user_id, key), rental_id, seen, wait)


def _when_changed(user_id: int, kind: str, read: Callable, key: str | int, seen: str | None, wait: float) -> Shown:
    first = read(key)  # unknown or foreign ids fail here, before any wait
    if seen is None:
        if first.status not in WAITING_FOR_SOMETHING[kind]:
            return first
        seen = first.etag
    if wait <= 0 or first.etag != seen:
        return first
    return waits.watch(user_id, f"{kind}{first.id}", lambda: read(first.id), lambda now: now.etag != seen, wait)


def status_when_changed(user_id: int, activation_id: int, wait: float, answer: Callable[[T], object]):
    """getStatus: the activation's status and code, once the protocol's reply `answer(row)`
    differs from the first read's, if that one waited for something; or when `wait` is up."""
    read = lambda: activations.status_for_owner(user_id, activation_id)  # noqa: E731
    return _legacy_when_changed(user_id, "a", activation_id, wait, read, lambda row: row.status, answer)


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
