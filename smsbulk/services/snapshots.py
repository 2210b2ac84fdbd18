"""Status polls without the database: each activation's answers, kept in Redis.

A poll asks "has anything changed?", and the answer is almost always no. So every answer a poll
can get about an activation - REST's body and ETag, legacy getStatus and getStatusV2 - is kept
rendered in one Redis hash per activation (`snap:a:<id>`), and a poll is one HMGET.

Written where the event log is written: after every commit that appended an activation's event,
the commit's listener (services/push.py) writes the snapshot from that event's payload, which is
the activation as REST shows it (services/states.py), in the same pipeline as the wake-ups. The
one change of what a poll shows that appends no event, a message without a code (the status does
not change), clears the snapshot's answers after its commit (events.touch). The database is read
only on a miss, and the snapshot filled from that read.

Order. Writes are versioned by the event's id (one account's events commit in id order:
services/events.py), so a late write never replaces a newer one. A miss takes a lease (a token
in the hash) before it reads the database, and its fill is accepted only while that lease
stands: a write, a clear, an eviction or expiry of the hash drops it, so a read that raced a
commit cannot put back what the commit replaced, even when the hash vanished in between.
What remains: between a commit and its write, a poll answers one event behind; a write lost
with Redis (the commit stands) leaves the snapshot behind until SNAPSHOT_SECONDS (the hash's
expiry) or the activation's next event; the process re-sends such lost writes as clears with its
next commit. Ownership is checked on every read (the hash names its owner).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from types import SimpleNamespace

import redis
from flask import current_app

from ..errors import ActivationNotFound
from ..extensions import get_redis
from ..legacy import protocol
from ..models import events as types
from ..quota import run_script, script_sha
from . import events, waits

log = logging.getLogger(__name__)

KEY = "snap:a:{}"
# The event types whose payload is the activation as REST shows it.
SHOWING = frozenset(
    {
        types.ACTIVATION_CREATED,
        types.NUMBER_ASSIGNED,
        types.SMS_RECEIVED,
        types.ANOTHER_CODE_ASKED,
        types.COMPLETED,
        types.CANCELED,
        types.EXPIRED,
        types.FAILED,
        types.WITHDRAWN,
        types.REFUNDED,
    }
)
# Fields of the hash: v version (an event id; 0 from a fill), n clears so far, f a fill's lease, u owner, s status,
# e ETag and b body (REST), g getStatus, h getStatusV2 and j whether that one is JSON.
ANSWERS = ("u", "s", "e", "b", "g", "h", "j")
REST_FIELDS = ("u", "s", "e", "b", "n")
LEGACY_FIELDS = ("u", "s", "g", "h", "j", "n")
FIELDS = ANSWERS  # all of them (smsbulk/polls.py)

# KEYS[1] the hash; ARGV: version, seconds to keep, then field, value pairs. A write older than
# the one held is dropped.
_WRITE = """
local held = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if held >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# A lease taken at a miss, before the database is read: ARGV a token, seconds to keep. Whatever
# changes the hash meanwhile (a write, a clear, an eviction or expiry, a later lease) drops it.
_LEASE = """
if redis.call('HEXISTS', KEYS[1], 's') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'f', ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# A fill from a miss: ARGV the lease's token, seconds to keep, pairs. Taken only while the lease
# stands, so a database read older than anything written since the miss is never put back.
_FILL = """
if redis.call('HEXISTS', KEYS[1], 's') == 1 then return 0 end
if redis.call('HGET', KEYS[1], 'f') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'f')
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('HSETNX', KEYS[1], 'v', '0')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# A change shown without an event: the answers go, the version stays, the clears count one more.
_CLEAR = """
redis.call('HDEL', KEYS[1], 'u', 's', 'e', 'b', 'g', 'h', 'j', 'f')
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Shown:
    """A subject's REST answer: its body and the ETag of that body."""

    id: int
    status: str
    body: bytes
    etag: str


def shown_of(subject_id: int, status: str, body: bytes) -> Shown:
    return Shown(subject_id, status, body, hashlib.blake2b(body, digest_size=10).hexdigest())


@dataclass(frozen=True)
class Snapshot:
    """What a poll answers about one activation."""

    id: int
    user_id: int
    status: str
    fields: dict[str, bytes]

    @property
    def shown(self) -> Shown:
        return Shown(self.id, self.status, self.fields["b"], self.fields["e"].decode())

    @property
    def legacy_status(self) -> protocol.Answer:
        return protocol.Answer(self.fields["g"].decode(), protocol.TEXT)

    @property
    def legacy_status_v2(self) -> protocol.Answer:
        mimetype = protocol.JSON if self.fields["j"] == b"1" else protocol.TEXT
        return protocol.Answer(self.fields["h"].decode(), mimetype)


def answers(user_id: int, shown: dict) -> dict[str, str | bytes]:
    """The hash's answers, from the activation as REST shows it (an event's payload)."""
    body = json.dumps(shown, separators=(",", ":")).encode()
    status = shown["status"]
    messages = [
        SimpleNamespace(text=m["text"], code=m["code"], received_at=_moment(m["receivedAt"])) for m in shown["sms"]
    ]
    # getStatusV2 shows the newest message by time (services/activations.py reads them so).
    messages.sort(key=lambda m: m.received_at)
    row = SimpleNamespace(status=status, sms_code=shown["smsCode"])
    v2 = protocol.status_v2(row, messages)
    return {
        "u": str(user_id),
        "s": status,
        "e": hashlib.blake2b(body, digest_size=10).hexdigest(),
        "b": body,
        "g": protocol.status(row).body,
        "h": v2.body,
        "j": "1" if v2.mimetype == protocol.JSON else "0",
    }


def _moment(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def _pairs(fields: dict) -> list:
    return [item for pair in fields.items() for item in pair]


def _seconds() -> int:
    return int(current_app.config["SNAPSHOT_SECONDS"])


# Writers ------------------------------------------------------------------------------------

_owed: set[int] = set()  # activations whose write was lost with Redis: cleared at the next commit


def queue_writes(pipe, committed: list[events.Appended], touched: dict[int, int]) -> list[tuple]:
    """Add to a pipeline the writes of a commit: each activation's newest shown state, and a
    clear for those changed without an event. The scripts run, with their keys and arguments,
    in pipeline order (a DEL runs no script)."""
    newest: dict[int, events.Appended] = {}
    for event in committed:
        if event.activation_id is not None and event.type in SHOWING:
            newest[event.activation_id] = event
    seconds = _seconds()
    written = []
    for activation_id, event in newest.items():
        key = KEY.format(activation_id)
        if event.type == types.ACTIVATION_CREATED:
            # A purchase's first state lasts until its job records the number, a few ms: not
            # rendered for the poll that seldom comes (a miss reads it). The key goes, should
            # SQLite give the id of a deleted activation again.
            pipe.delete(key)
            written.append((None, key, ()))
            continue
        args = (event.id, seconds, *_pairs(answers(event.user_id, event.payload)))
        pipe.evalsha(script_sha(_WRITE), 1, key, *args)
        written.append((_WRITE, key, args))
    cleared = (set(touched) | _owed) - set(newest)
    _owed.clear()
    for activation_id in sorted(cleared):
        key = KEY.format(activation_id)
        pipe.evalsha(script_sha(_CLEAR), 1, key, seconds)
        written.append((_CLEAR, key, (seconds,)))
    return written


def settle(connection, written: list[tuple], results: list) -> None:
    """After the pipeline: a script Redis did not know yet (a restart) is sent again in full. A
    write run late is still in order: it is dropped if a newer one is held."""
    for (script, key, args), result in zip(written, results, strict=False):
        if isinstance(result, redis.exceptions.NoScriptError):
            run_script(connection, script, [key], list(args))
        elif isinstance(result, Exception):
            raise result


def lost(committed: list[events.Appended], touched: dict[int, int]) -> None:
    """A commit's writes did not reach Redis: owe them as clears (until then SNAPSHOT_SECONDS bounds it)."""
    _owed.update(event.activation_id for event in committed if event.activation_id is not None)
    _owed.update(touched)


# This process's copies ----------------------------------------------------------------------


class Copies:
    """Snapshots this web process served lately, so a poll of the same activation needs no round
    trip at all: each copy is dropped when the event channel (services/waits.py, to which every
    commit's listener publishes the activations it changed) names its activation, and all are
    dropped, and none kept, while the subscription is down. A copy is kept only if no message
    came while it was read, so one read before a change cannot outlive the change's message.
    LOCAL_SNAPSHOT_SECONDS bounds a copy's life should a message be lost with its publisher's
    Redis connection (the snapshot in Redis then waits for SNAPSHOT_SECONDS too)."""

    MAX = 100_000

    def __init__(self) -> None:
        self.entries: dict[int, tuple[float, list]] = {}
        self.generation = 0  # grows with every message and every change of the subscription
        self.live = False

    def get(self, activation_id: int) -> list | None:
        hit = self.entries.get(activation_id)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def keep(self, activation_id: int, fields: list, generation: int, seconds: float) -> None:
        if self.live and generation == self.generation and seconds > 0:
            if len(self.entries) >= self.MAX:
                self.entries = {}
            self.entries[activation_id] = (time.monotonic() + seconds, fields)

    def heard(self, subjects: set[str]) -> None:
        self.generation += 1
        for subject in subjects:
            if subject[:1] == "a" and subject[1:].isdigit():
                self.entries.pop(int(subject[1:]), None)

    def reset(self, live: bool) -> None:
        self.generation += 1
        self.live = live
        self.entries = {}


copies = Copies()
waits.hub.followers.append(copies)
os.register_at_fork(after_in_child=lambda: copies.reset(False))


# Readers ------------------------------------------------------------------------------------

_aliases: dict[str, int] = {}  # public id -> legacy id: never changes once given
MAX_ALIASES = 200_000


def alias(public_id: str) -> int | None:
    """The legacy id of a public id this process has seen."""
    return _aliases.get(public_id)


def read(user_id: int, activation_id: str | int, fields: tuple[str, ...]) -> Snapshot:
    """The activation's snapshot (the given fields), for its owner only; from the database on a miss.
    Another user's activation, or one that does not exist, is ActivationNotFound."""
    from . import activations

    connection = get_redis()
    text = str(activation_id).strip()
    number = _aliases.get(text) or (int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None)
    lease = None
    if number is not None:
        try:
            values = connection.hmget(KEY.format(number), fields)
        except redis.RedisError:
            values = None
        if values is not None and values[1] is not None:
            if int(values[0]) != user_id:
                raise ActivationNotFound(id=text[:40])
            return Snapshot(number, user_id, values[1].decode(), dict(zip(fields, values, strict=True)))
        lease = _lease(connection, number) if values is not None else None
    row = activations.shown_for_owner(user_id, text)  # the miss: one read, its owner checked
    return _fill(connection, user_id, row, text, lease if number == row.id else None)


def _lease(connection, activation_id: int) -> str | None:
    """A token for filling the snapshot after this miss (None: none to be had)."""
    token = uuid.uuid4().hex
    try:
        taken = run_script(connection, _LEASE, [KEY.format(activation_id)], [token, _seconds()])
    except redis.RedisError:
        return None
    return token if taken else None


def _fill(connection, user_id: int, row, text: str, lease: str | None) -> Snapshot:
    from .. import representation

    if text.startswith("act_"):
        if len(_aliases) >= MAX_ALIASES:
            _aliases.clear()
        _aliases[text] = row.id
    fields = answers(user_id, representation.activation(row))
    if lease is not None:  # None: the miss was not seen under this id (an alias learnt just now)
        try:
            run_script(connection, _FILL, [KEY.format(row.id)], [lease, _seconds(), *_pairs(fields)])
        except redis.RedisError:
            pass  # the answer stands; the next poll misses again
    encoded = {name: value.encode() if isinstance(value, str) else value for name, value in fields.items()}
    return Snapshot(row.id, user_id, row.status, encoded)
