"""Waiting for one activation to change: the REST `?wait=` and the legacy `getStatus&wait=`.

What the client "last saw" is, over REST, the ETag of the answer it last got (If-None-Match, or
`since` for clients that cannot set headers): the answer is its exact bytes, so the tag changes
when anything shown changes (its status, its messages). A call that names no version saw
nothing yet; it still waits while the activation is waiting for something (PENDING, WAITING,
RETRY), until that answer changes, so a bot that simply adds `wait=25` to its loop gets its
code in one call instead of twenty. A call on an activation that waits for nothing answers at
once. Wake-ups come from the activation's own events (services/waits.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from .. import representation
from ..models import Activation
from ..models import activations as st
from . import activations, waits

WAITING_FOR_SOMETHING = (st.PENDING, st.WAITING, st.RETRY)


@dataclass(frozen=True)
class Shown:
    """An activation's REST answer: its body and the ETag of that body."""

    id: int
    status: str
    body: bytes
    etag: str


def shown(user_id: int, activation_id: str | int) -> Shown:
    row = activations.shown_for_owner(user_id, activation_id)
    body = json.dumps(representation.activation(row), separators=(",", ":")).encode()
    return Shown(row.id, row.status, body, hashlib.blake2b(body, digest_size=10).hexdigest())


def shown_when_changed(user_id: int, activation_id: str | int, seen: str | None, wait: float) -> Shown:
    """The activation as REST shows it, once it differs from the answer tagged `seen` (or, with
    no tag, from the first read if it waits for something), or when `wait` seconds are up."""
    first = shown(user_id, activation_id)  # unknown or foreign ids fail here, before any wait
    if seen is None:
        if first.status not in WAITING_FOR_SOMETHING:
            return first
        seen = first.etag
    if wait <= 0 or first.etag != seen:
        return first
    read = lambda: shown(user_id, first.id)  # noqa: E731
    return waits.watch(user_id, f"a{first.id}", read, lambda now: now.etag != seen, wait)


def status_when_changed(
    user_id: int, activation_id: str | int, wait: float, answer: Callable[[Activation], object]
) -> Activation:
    """The activation's status and code, once `answer(row)` (the protocol's reply) differs from
    the first read's, if that read waited for something; or when `wait` seconds are up."""
    first = activations.status_for_owner(user_id, activation_id)
    if wait <= 0 or first.status not in WAITING_FOR_SOMETHING:
        return first
    before = answer(first)
    return waits.watch(
        user_id,
        f"a{int(activation_id)}",
        lambda: activations.status_for_owner(user_id, activation_id),
        lambda now: answer(now) != before,
        wait,
    )
