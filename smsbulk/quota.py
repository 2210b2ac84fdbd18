"""The per-key daily request quota, shared by every process through Redis.

A round trip to Redis per request would cost a status poll about a fifth of its CPU, so each
process counts its requests itself and adds them to the shared counters in one round trip per
QUOTA_SYNC_SECONDS (all keys at once). It admits a key's request on its own only while:

- it read the key's shared count at its last sync, or later (an idle key is read afresh),
- that count plus what it admitted since leaves more than QUOTA_EXACT_MARGIN requests, and
- it admitted fewer than QUOTA_LOCAL_BATCH of the key's requests since that sync.

Otherwise the request is checked and counted in Redis, with the process's pending count of
that key, in one script: exact. Every process stops admitting on its own a margin before the
quota, and between two syncs admits at most a batch per key (twice that while a sync is on its
way), so the quota holds exactly as long as fewer than margin / (2 x batch) processes (25 by
default) serve one key at once and no key burns through its margin within two sync intervals;
a key with a smaller quota than the margin is always counted in Redis. What a process admitted
reaches the shared counter within QUOTA_SYNC_SECONDS while it serves requests, and when it
exits. QUOTA_SYNC_SECONDS=0 counts every request in Redis.
"""

from __future__ import annotations

import atexit
import datetime
import functools
import hashlib
import os
import threading
import time
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import NoScriptError, RedisError

from .errors import QuotaExceeded

SECONDS_PER_DAY = 86400

# KEYS[1] the key's counter of the day, KEYS[2] the keys' last-use times; ARGV: its quota, when
# the counter may go (Unix time), the requests this process admitted since its last sync, the
# key's id and the time now. Negative = refused: -1 - count.
_CHECK_SCRIPT = """
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local pending = tonumber(ARGV[3])
if pending > 0 then used = redis.call('INCRBY', KEYS[1], pending) end
if used >= tonumber(ARGV[1]) then
  if used > 0 then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
  return -used - 1
end
used = redis.call('INCR', KEYS[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return used
"""

# KEYS[1] the keys' last-use times, then the counters; ARGV[1] the time now, then per counter
# the requests to add, when it may go and its key's id. The new counts.
_SYNC_SCRIPT = """
local counts = {}
for i = 2, #KEYS do
  local at = 3 * i - 4
  counts[i - 1] = redis.call('INCRBY', KEYS[i], ARGV[at])
  redis.call('EXPIREAT', KEYS[i], ARGV[at + 1])
  redis.call('HSET', KEYS[1], ARGV[at + 2], ARGV[1])
end
return counts
"""

# When each key was last used (Unix seconds), written by the scripts above, so knowing it costs
# no round trip and no database write per request; services/key_usage.py moves it to the
# database once a minute.
LAST_USED = "keys:last-used"


def run_script(connection, script: str, keys: list[str], args: list) -> object:
    """One EVALSHA: keys and numbers, not the script. Redis answers NOSCRIPT the first time
    (or after a restart): the script is sent once with EVAL, which also caches it there."""
    sha = script_sha(script)
    try:
        return connection.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        return connection.eval(script, len(keys), *keys, *args)


@functools.cache
def script_sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    limit: int
    used: int
    reset_at: datetime.datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def retry_after(self) -> int:
        now = datetime.datetime.now(datetime.UTC)
        return max(int((self.reset_at - now).total_seconds()) + 1, 1)


@dataclass(frozen=True)
class QuotaDay:
    """A UTC day of the quota: its counters' key suffix, when it resets, when they may go."""

    suffix: str
    reset_at: datetime.datetime
    drop_at: int  # an hour after the reset, as a Unix time (EXPIREAT)


@functools.lru_cache(maxsize=4)
def _quota_day(day_number: int) -> QuotaDay:
    start = datetime.datetime.fromtimestamp(day_number * SECONDS_PER_DAY, datetime.UTC)
    reset = start + datetime.timedelta(days=1)
    return QuotaDay(f"{start:%Y%m%d}", reset, int(reset.timestamp()) + 3600)


def quota_day() -> QuotaDay:
    """Today (UTC); worked out once a day, not on every request."""
    return _quota_day(int(time.time() // SECONDS_PER_DAY))


def counter_key(key_id: int, day: QuotaDay) -> str:
    return f"quota:{key_id}:{day.suffix}"


def key_id_of(counter: str) -> str:
    return counter.split(":", 2)[1]


@dataclass(frozen=True)
class Policy:
    sync_seconds: float
    batch: int
    margin: int

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(config["QUOTA_SYNC_SECONDS"], config["QUOTA_LOCAL_BATCH"], config["QUOTA_EXACT_MARGIN"])


class Counters:
    """This process's view of the shared counters: the count read at the last sync (`known`)
    and what it admitted since (`pending`), per counter key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.known: dict[str, int] = {}
        self.pending: dict[str, int] = {}
        self.drop_at: dict[str, int] = {}
        self.synced_at = time.monotonic()
        self.connection = None  # the last one used: the exit flush sends what is pending there

    def count(self, connection, key: str, quota: int, day: QuotaDay, policy: Policy) -> int:
        """The key's count with this request, or -1 - the count if the quota refuses it."""
        with self._lock:
            pending = self.pending.get(key, 0)
            known = self.known.get(key)
            if known is not None and pending < policy.batch and quota - known - pending > policy.margin:
                self.pending[key] = pending + 1
                used = known + pending + 1
                due = time.monotonic() - self.synced_at >= policy.sync_seconds
            else:
                self.pending.pop(key, None)  # goes with the exact check
                used = due = None
            self.connection = connection
        if used is not None:
            if due:
                self.sync(connection, policy.sync_seconds)
            return used
        try:
            args = [quota, day.drop_at, pending, key_id_of(key), int(time.time())]
            answer = int(run_script(connection, _CHECK_SCRIPT, [key, LAST_USED], args))
        except BaseException:
            self._give_back({key: pending}, {key: day.drop_at})
            raise
        if policy.sync_seconds > 0:
            with self._lock:
                self.known[key] = max(self.known.get(key, 0), answer if answer >= 0 else -answer - 1)
                self.drop_at[key] = day.drop_at
        return answer

    def sync(self, connection, interval: float = 0.0) -> None:
        """Add the pending counts to Redis and read the counters back, in one round trip."""
        with self._lock:
            if time.monotonic() - self.synced_at < interval:
                return  # another thread has just done it
            self.synced_at = time.monotonic()
            pending, self.pending = self.pending, {}
            drop_at = self.drop_at
            # A counter not used since the last sync is read afresh by its next request.
            self.known = {key: self.known[key] for key in pending if key in self.known}
            self.drop_at = {key: drop_at[key] for key in pending}
        if not pending:
            return
        args = [int(time.time())]
        args += [value for key, count in pending.items() for value in (count, drop_at[key], key_id_of(key))]
        try:
            counts = run_script(connection, _SYNC_SCRIPT, [LAST_USED, *pending], args)
        except BaseException:
            self._give_back(pending, drop_at)
            raise
        with self._lock:
            for key, count in zip(pending, counts, strict=True):
                if key in self.known:
                    self.known[key] = max(self.known[key], int(count))

    def after_fork(self) -> None:
        """A child starts with nothing to add, and with a lock of its own: another thread of the
        parent may have held the parent's at the fork, and would never release it here."""
        self._lock = threading.Lock()
        self.reset()

    def pending_of(self, key: str) -> int:
        with self._lock:
            return self.pending.get(key, 0)

    def _give_back(self, pending: dict[str, int], drop_at: dict[str, int]) -> None:
        """Counts a failed round trip did not add stay pending: no request goes uncounted."""
        with self._lock:
            for key, count in pending.items():
                if count:
                    self.pending[key] = self.pending.get(key, 0) + count
                    self.drop_at.setdefault(key, drop_at[key])

    def flush_at_exit(self) -> None:
        connection = self.connection
        if connection is not None:
            try:
                self.sync(connection)
            except RedisError:
                pass  # Redis already gone: at most one sync interval of counts is lost


_counters = Counters()
os.register_at_fork(after_in_child=_counters.after_fork)
atexit.register(_counters.flush_at_exit)


REFUSED = "smsbulk.quota_refused"  # the WSGI environ's note of a refusal counted already (smsbulk/polls.py)


def count_request(connection, caller, environ: dict | None = None) -> Usage:
    """Count one request against its key's quota today; raise QuotaExceeded when it is used up
    (a request the status polls' path counted and the quota refused is not counted twice)."""
    refused = environ.get(REFUSED) if environ is not None else None
    if refused is not None:
        raise refused
    day = quota_day()
    policy = Policy.from_config(current_app.config)
    answer = _counters.count(connection, counter_key(caller.key_id, day), caller.daily_quota, day, policy)
    refused = answer < 0
    usage = Usage(caller.daily_quota, -answer - 1 if refused else answer, day.reset_at)
    if refused:
        error = QuotaExceeded(retryAfter=usage.retry_after, limit=usage.limit, usage=usage.used)
        error.usage_info = usage  # the REST renderer still sends the rate-limit headers
        raise error
    return usage


def reset() -> None:
    """Forget this process's view (tests start each one on an empty Redis)."""
    _counters.reset()


def used_today(connection, key_ids: list[int]) -> dict[int, int]:
    """Each key's requests today as this process knows them: the shared counter and what this
    process admitted since its last sync (other processes' within QUOTA_SYNC_SECONDS)."""
    day = quota_day()
    names = [counter_key(key_id, day) for key_id in key_ids]
    values = connection.mget(names) if names else []
    return {
        key_id: int(value or 0) + _counters.pending_of(name)
        for key_id, name, value in zip(key_ids, names, values, strict=True)
    }
