"""API keys, shared by the REST and legacy styles (their daily quota: quota.py).

Key lookups are cached in-process for KEY_CACHE_SECONDS so a status poll does not hit the
database; a revoked key therefore stops working within that many seconds, and a change to its
quota or guardrails takes effect within as long.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from .errors import BadKey
from .models import ApiKey

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class Caller:
    """An authenticated key, with what each request needs of it (cached like the key itself)."""

    key_id: int
    user_id: int
    daily_quota: int
    legacy_numbers_status_v1: bool = False
    max_purchases_per_day: int | None = None  # the key's guardrails (services/guardrails.py)
    max_spend_per_day: Decimal | None = None


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
