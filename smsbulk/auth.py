"""API keys and the per-key daily request quota, shared by the REST and legacy styles.

Key lookups are cached in-process for KEY_CACHE_SECONDS so a status poll does not hit the
database; a revoked key therefore stops working within that many seconds, and a change to its
quota or guardrails takes effect within as long. The quota counter lives in Redis and is
checked-and-incremented by one Lua script (one round trip, run by EVALSHA), so it stays exact
however many Gunicorn workers race on it.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from redis.exceptions import NoScriptError

from .errors import BadKey, QuotaExceeded
from .models import ApiKey

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32
PREFIX_LENGTH = 8
SECONDS_PER_DAY = 86400

# KEYS[1] the key's counter of the day, ARGV[1] its quota, ARGV[2] when the counter may go.
_QUOTA_SCRIPT = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -used - 1 end  -- negative = refused (-1 - count)
used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
return used
"""
_QUOTA_SHA = hashlib.sha1(_QUOTA_SCRIPT.encode()).hexdigest()


def _run_quota_script(connection, key: str, quota: int, drop_at: int) -> int:
    """One EVALSHA: the key and two numbers, not the script. Redis answers NOSCRIPT the first
    time (or after a restart): the script is sent once with EVAL, which also caches it there."""
    try:
        return int(connection.evalsha(_QUOTA_SHA, 1, key, quota, drop_at))
    except NoScriptError:
        return int(connection.eval(_QUOTA_SCRIPT, 1, key, quota, drop_at))


@dataclass(frozen=True)
class Caller:
    """An authenticated key, with what each request needs of it (cached like the key itself)."""

    key_id: int
    user_id: int
    daily_quota: int
    legacy_numbers_status_v1: bool = False
    max_purchases_per_day: int | None = None  # the key's guardrails (services/guardrails.py)
    max_spend_per_day: Decimal | None = None


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


def new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def hash_key(raw: str) -> str:
    # Keys are 190 bits of randomness: a fast hash is enough and keeps lookups cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str, ttl: float) -> Caller | None:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        caller = _load_caller(key_hash)
        if ttl > 0:
            with self._lock:
                if len(self._entries) > 50_000:
                    self._entries.clear()
                self._entries[key_hash] = (now + ttl, caller)
        return caller

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = KeyCache()


def _load_caller(key_hash: str) -> Caller | None:
    row = ApiKey.get_or_none((ApiKey.key_hash == key_hash) & ApiKey.revoked_at.is_null())
    if row is None:
        return None
    return Caller(
        row.id,
        row.user_id,
        row.daily_quota,
        row.legacy_numbers_status_v1,
        row.max_purchases_per_day,
        row.max_spend_per_day,
    )


def authenticate(raw_key: str | None, cache_seconds: float) -> Caller:
    raw_key = (raw_key or "").strip()
    if len(raw_key) != KEY_LENGTH or not raw_key.isalnum() or not raw_key.isascii():
        raise BadKey()
    caller = _cache.get(hash_key(raw_key), cache_seconds)
    if caller is None:
        raise BadKey()
    return caller


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


def _quota_key(key_id: int, day: QuotaDay) -> str:
    return f"quota:{key_id}:{day.suffix}"


def count_request(connection, caller: Caller) -> Usage:
    """Count one request against today's quota; raise QuotaExceeded when it is used up."""
    day = quota_day()
    reset = day.reset_at
    answer = _run_quota_script(connection, _quota_key(caller.key_id, day), caller.daily_quota, day.drop_at)
    refused = answer < 0
    usage = Usage(caller.daily_quota, -answer - 1 if refused else answer, reset)
    if refused:
        error = QuotaExceeded(retryAfter=usage.retry_after, limit=usage.limit, usage=usage.used)
        error.usage_info = usage  # the REST renderer still sends the rate-limit headers
        raise error
    return usage


def usage_today(connection, caller: Caller) -> Usage:
    day = quota_day()
    used = int(connection.get(_quota_key(caller.key_id, day)) or 0)
    return Usage(caller.daily_quota, used, day.reset_at)
