"""The purchase job's contract, in one place: its ids, how purchases are queued, its typed outcome
and how a buying request waits for it.

The work itself is fulfilment.fulfil. A new purchase joins the batch list, and a batch job
(workers.tasks.purchase_batch) takes purchases off that list one by one until it is empty. At most
PURCHASE_BATCH_JOBS batch jobs run at once, each holding a slot; a purchase enqueues a batch job
only when it finds a slot free. Under load, one RQ job thus carries many purchases, and RQ's own
cost (a dequeue, its registries, a heartbeat, a result: more than the purchase's own work) is paid
once for them all. With the list empty, every purchase still starts its own batch job at once.

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
from collections.abc import Callable
from dataclasses import dataclass

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

# A purchase's outcome (ARGV[1], unless empty) for the requests waiting on it, under KEYS[2].
_ANNOUNCE = """
if ARGV[1] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
"""

# A batch job's step: announce the purchase it did, then take the next one for slot ARGV[3],
# the slot kept; or nil, the slot freed. Freeing it in the same script as the empty pop means no
# purchase can join the list unseen.
_TAKE = (
    _ANNOUNCE
    + """
local slot = KEYS[1] .. ':slot:' .. ARGV[3]
local id = redis.call('LPOP', KEYS[1])
if id then redis.call('EXPIRE', slot, ARGV[4]) else redis.call('DEL', slot) end
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


def drain(slot: int, buy: Callable[[int], Outcome]) -> int:
    """The batch job holding `slot`: buy each purchase it takes off the list, until the list is
    empty or BATCH_MAX are done (how many it took); then a new job goes on with the slot, so
    that other queues' jobs get their turn with this worker. A purchase that raised stays
    PENDING for the recovery pass; the others go on."""
    connection = get_redis()
    done: tuple[int, Outcome] | None = None  # announced with the next take: one round trip
    for count in range(BATCH_MAX):
        key, value, seconds = _announcing(done)
        taken = run_script(connection, _TAKE, [BATCH, key], [value, seconds, slot, SLOT_SECONDS])
        if taken is None:
            return count
        activation_id, done = int(taken), None
        try:
            done = (activation_id, buy(activation_id))
        except Exception:  # noqa: BLE001 - logged and measured as a failed purchase job
            log.exception("purchase of activation %s failed in its batch; recovery will drive it", activation_id)
    if done is not None:
        announce(*done)
    _enqueue_batch(slot)
    return BATCH_MAX


def waiting() -> int:
    """Purchases on the batch list, not yet taken by a job."""
    return get_redis().llen(BATCH)


def redrive(activation_id: int, drive: str) -> Job:
    """A job of its own for a purchase that is not moving (the recovery pass)."""
    queue = get_queue(QueueNames.PURCHASES)
    return queue.enqueue(JOB_FUNCS["purchase"], activation_id, job_id=job_id(activation_id, drive), **OPTIONS)


def _outcome_key(activation_id: int) -> str:
    return f"purchase-outcome:{activation_id}"


def _announcing(done: tuple[int, Outcome] | None) -> tuple:
    """_ANNOUNCE's key and arguments for a purchase done (none to announce: empty)."""
    if done is None:
        return BATCH, "", OUTCOME_SECONDS
    return _outcome_key(done[0]), json.dumps(done[1].to_json()), OUTCOME_SECONDS


def announce(activation_id: int, outcome: Outcome) -> None:
    """Where the buying request waits. Redis failing here loses nothing: the row is the truth."""
    key, value, seconds = _announcing((activation_id, outcome))
    try:
        run_script(get_redis(), _ANNOUNCE, [BATCH, key], [value, seconds])
    except redis.RedisError as exc:
        log.warning("activation %s: outcome not announced (%s)", activation_id, type(exc).__name__)


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
