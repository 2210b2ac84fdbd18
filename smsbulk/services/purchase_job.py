"""The purchase job's contract, in one place: its ids, how purchases are queued, its typed outcome
and how a buying request waits for it.

The work itself is fulfilment.fulfil. A new purchase joins the batch list, and a batch job
(workers.tasks.purchase_batch) takes purchases off that list one by one until it has stayed empty
for LINGER_SECONDS, recording their numbers in groups (purchase_groups.py). At most
PURCHASE_BATCH_JOBS batch jobs run at once, each holding a slot; a purchase enqueues a batch job
only when it finds a slot free. Under load, one RQ job thus carries many purchases, and RQ's own
cost (a dequeue, its registries, a heartbeat, a result: more than the purchase's own work) is paid
once for them all. With no slot held, every purchase still starts its own batch job at once.

RQ and the list only carry purchases: the database row says whether a purchase is in flight
(services/recovery.py), so a purchase lost with a worker or a Redis restart is driven again, by a
job of its own under a new id (`redrive`), and a duplicate run buys nothing. A slot whose job died
frees itself after SLOT_SECONDS; the cron process then starts a batch job for a list left waiting
(`kick`, every second).

Either job announces its outcome under the activation's id, where the buying request waits.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

import redis
from flask import current_app
from rq.job import Job

from ..extensions import get_redis
from ..queues import JOB_FUNCS, QueueNames, get_queue
from ..quota import run_script

log = logging.getLogger(__name__)

OPTIONS = {"job_timeout": 60, "result_ttl": 60, "failure_ttl": 7 * 24 * 3600}

BATCH = "purchases:batch"  # ids of purchases placed and not yet taken; slots are BATCH:slot:<n>
# A slot outlives its job this long: a job that died (or a web process killed between taking a
# slot and enqueueing its job) frees it by then. It is refreshed at every purchase taken; a job
# that waits longer than this in the queue, or on one slow upstream call, may see a second job
# start on its slot: more batch jobs than slots for a while, and never a purchase left behind.
SLOT_SECONDS = 3
BATCH_MAX = 200  # purchases a batch job takes before it hands its slot to a new job
# A batch job that finds the list empty waits this long for the next purchase before it frees its
# slot and ends: under load, one job goes on taking purchases instead of RQ running a new one
# (its dequeue, registries, heartbeat and result) every time the list runs dry for a moment.
# Redis looks at blocked clients' timeouts ten times a second, so a shorter wait lasts as long
# (and Redis 6.2 reads one under 2 ms as "forever").
LINGER_SECONDS = 0.1
OUTCOME_SECONDS = 60  # an announced outcome is kept this long for the requests waiting on it

# Push a purchase and take the first free slot: the slot's number, or -1 if all are held.
# In one script, so no two requests take the same slot.
_PLACE = """
redis.call('RPUSH', KEYS[1], ARGV[1])
for slot = 0, tonumber(ARGV[2]) - 1 do
  if redis.call('SET', KEYS[1] .. ':slot:' .. slot, '1', 'NX', 'EX', ARGV[3]) then return slot end
end
return -1
"""

# Slot 0 (its number), if purchases wait on the list and no batch job holds any slot; else -1.
# A batch job still holding a slot drains the whole list: no second one is needed.
_KICK = """
if redis.call('LLEN', KEYS[1]) == 0 then return -1 end
for slot = 0, tonumber(ARGV[1]) - 1 do
  if redis.call('EXISTS', KEYS[1] .. ':slot:' .. slot) == 1 then return -1 end
end
redis.call('SET', KEYS[1] .. ':slot:0', '1', 'EX', ARGV[2])
return 0
"""

# Purchases' outcomes for the requests waiting on them: ARGV[4 + i] under KEYS[1 + i], kept
# ARGV[1] seconds.
_ANNOUNCE = """
for i = 2, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[i + 3])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
"""

# A batch job's step: announce the purchases it did, then take the next one for slot ARGV[2],
# the slot kept ARGV[3] seconds more; or nil, the slot freed unless ARGV[4] is '1' (the job
# lingers for the next purchase). Freeing it in the same script as the empty pop means no
# purchase can join the list unseen.
_TAKE = (
    _ANNOUNCE
    + """
local slot = KEYS[1] .. ':slot:' .. ARGV[2]
local id = redis.call('LPOP', KEYS[1])
if id or ARGV[4] == '1' then redis.call('EXPIRE', slot, ARGV[3]) else redis.call('DEL', slot) end
return id
"""
)


@dataclass(frozen=True)
class Outcome:
    """What a run of the purchase job did: the status it left, and the number if it recorded one."""

    status: str
    phone_number: str | None = None
    expires_at: datetime.datetime | None = None

    def to_json(self) -> dict:
        """The job's return value, as RQ's JSON serializer stores it."""
        expires = self.expires_at.isoformat() if self.expires_at is not None else None
        return {"status": self.status, "phone_number": self.phone_number, "expires_at": expires}

    @classmethod
    def from_json(cls, value: dict) -> Outcome:
        expires = value.get("expires_at")
        return cls(
            value["status"],
            value.get("phone_number"),
            datetime.datetime.fromisoformat(expires) if expires else None,
        )


SKIPPED = Outcome("skipped")  # another run has the purchase, or it is no longer PENDING


def job_id(activation_id: int, drive: str = "") -> str:
    """A purchase's own job is `purchase-<id>`; a re-drive's adds its own suffix, so it never
    depends on RQ having freed the first id."""
    return f"purchase-{activation_id}{'-' + drive if drive else ''}"


def _slots() -> int:
    return current_app.config["PURCHASE_BATCH_JOBS"]


def enqueue_new(activation_id: int) -> None:
    """Queue a purchase just committed: onto the batch list, and a batch job if a slot is free.
    Jobs run inline (tests) buy it in this very call, as its own job."""
    if not current_app.config.get("RQ_ASYNC", True):
        get_queue(QueueNames.PURCHASES).enqueue(JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id))
        return
    _start_batch(activation_id)


def kick() -> bool:
    """Start a batch job if purchases wait on the list and no batch job holds a slot (the cron
    process: a batch job that died left its purchases there); whether one started."""
    return _started(run_script(get_redis(), _KICK, [BATCH], [_slots(), SLOT_SECONDS]))


def _start_batch(activation_id: int) -> None:
    _started(run_script(get_redis(), _PLACE, [BATCH], [activation_id, _slots(), SLOT_SECONDS]))


def _started(slot: int) -> bool:
    """A batch job for the slot the script took (none if it took none)."""
    if int(slot) < 0:
        return False
    _enqueue_batch(int(slot))
    return True


def _enqueue_batch(slot: int) -> None:
    queue = get_queue(QueueNames.PURCHASES)
    queue.enqueue(JOB_FUNCS["purchase_batch"], slot, job_id=f"purchase-batch-{uuid.uuid4().hex}", **OPTIONS)


class Buyer(Protocol):
    """How a batch job buys (purchase_groups.Group): buy() a purchase, upstream at once, and
    answer its outcome, or None for a number left to record(), which records those left so far
    and answers their outcomes; due() says when they should be."""

    def buy(self, activation_id: int) -> Outcome | None: ...

    def due(self) -> bool: ...

    def record(self) -> list[tuple[int, Outcome]]: ...


def drain(slot: int, buyer: Buyer) -> int:
    """The batch job holding `slot`: buy each purchase it takes off the list, until the list is
    empty or BATCH_MAX are done (how many it took); then a new job goes on with the slot, so
    that other queues' jobs get their turn with this worker. A purchase that raised stays
    PENDING for the recovery pass; the others go on."""
    connection = get_redis()
    done: list[tuple[int, Outcome]] = []  # announced with the next take: one round trip
    for count in range(BATCH_MAX):
        taken = _take(connection, slot, done, linger=True)
        done = []
        if taken is None:
            announce_all(_recorded(buyer))  # its buyers hear now, not after the wait
            popped = connection.blpop([BATCH], timeout=LINGER_SECONDS)
            taken = popped[1] if popped is not None else _take(connection, slot, [], linger=False)
            if taken is None:
                return count
        activation_id = int(taken)
        try:
            outcome = buyer.buy(activation_id)
        except Exception:  # noqa: BLE001 - logged and measured as a failed purchase job
            log.exception("purchase of activation %s failed in its batch; recovery will drive it", activation_id)
            continue
        if outcome is not None:
            done.append((activation_id, outcome))
        if buyer.due():
            done.extend(_recorded(buyer))
    announce_all(done + _recorded(buyer))
    _enqueue_batch(slot)
    return BATCH_MAX


def _take(connection, slot: int, done: list[tuple[int, Outcome]], linger: bool):
    """Announce what was done and take the next purchase (see _TAKE): its id, or None."""
    keys, values = _keys(done), _values(done)
    flag = "1" if linger else "0"
    return run_script(connection, _TAKE, [BATCH, *keys], [OUTCOME_SECONDS, slot, SLOT_SECONDS, flag, *values])


def _recorded(buyer: Buyer) -> list[tuple[int, Outcome]]:
    """What the buyer recorded; none if it raised (its purchases stay in flight on their rows,
    for the recovery pass)."""
    try:
        return buyer.record()
    except Exception:  # noqa: BLE001 - logged; the batch goes on
        log.exception("purchases of a batch could not be recorded; recovery will settle them")
        return []


def waiting() -> int:
    """Purchases on the batch list, not yet taken by a job."""
    return get_redis().llen(BATCH)


def redrive(activation_id: int, drive: str) -> Job:
    """A job of its own for a purchase that is not moving (the recovery pass)."""
    queue = get_queue(QueueNames.PURCHASES)
    return queue.enqueue(JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id, drive), **OPTIONS)


def _outcome_key(activation_id: int) -> str:
    return f"purchase-outcome:{activation_id}"


def _keys(done: list[tuple[int, Outcome]]) -> list[str]:
    return [_outcome_key(activation_id) for activation_id, _ in done]


def _values(done: list[tuple[int, Outcome]]) -> list[str]:
    return [json.dumps(outcome.to_json()) for _, outcome in done]


def announce(activation_id: int, outcome: Outcome) -> None:
    """Where the buying request waits. Redis failing here loses nothing: the row is the truth."""
    announce_all([(activation_id, outcome)])


def announce_all(done: list[tuple[int, Outcome]]) -> None:
    if not done:
        return
    try:
        run_script(get_redis(), _ANNOUNCE, [BATCH, *_keys(done)], [OUTCOME_SECONDS, "", "", "", *_values(done)])
    except redis.RedisError as exc:
        log.warning("activations %s: outcome not announced (%s)", [i for i, _ in done], type(exc).__name__)


def wait(activation_id: int, seconds: float) -> Outcome | None:
    """The outcome of the purchase's job, or None if it is not done within `seconds` (or Redis
    cannot say: the row stays the truth). The outcome stays for other requests waiting on it."""
    if seconds <= 0:
        return None
    key = _outcome_key(activation_id)
    try:
        found = get_redis().blmove(key, key, seconds, "LEFT", "RIGHT")
    except redis.RedisError as exc:
        log.warning("waiting for the purchase of activation %s: %s", activation_id, type(exc).__name__)
        return None
    return Outcome.from_json(json.loads(found)) if found is not None else None
