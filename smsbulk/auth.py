"""API keys, shared by the REST and legacy styles (their daily quota: quota.py).

A key lookup is cached in each process for KEY_CACHE_SECONDS, so a status poll does not read the
database. A change to a key (revoked, rotated, its scopes, allowlist, quota or guardrails) must
still take effect in every process within a second: the service that makes it adds the key's id
to a short change feed in Redis after its commit (publish_change), and each process reads the
feed while it serves requests, at most every KEY_CHANGES_CHECK_SECONDS, in one round trip, and
forgets what it cached of those keys. KEY_CACHE_SECONDS still bounds how long an entry is
trusted, should a change miss the feed (Redis down at that moment).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, request
from redis.exceptions import RedisError

from .errors import BadKey, InsufficientScope
from .models import ApiKey
from .models.base import utcnow
from .models.users import SCOPES
from .quota import run_script

log = logging.getLogger(__name__)

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 32
PREFIX_LENGTH = 8

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Caller:
    """An authenticated key, with what each request needs of it (cached like the key itself)."""

    key_id: int
    user_id: int
    daily_quota: int
    legacy_numbers_status_v1: bool = False
    max_purchases_per_day: int | None = None  # the key's guardrails (services/guardrails.py)
    max_spend_per_day: Decimal | None = None
    scopes: frozenset[str] = frozenset(SCOPES)
    networks: tuple[Network, ...] = ()  # empty: from any address
    valid_until: float | None = None  # Unix time: the key's expiry, or the end of a rotated secret's grace
    restricted: bool = False  # an expiry or an allowlist to check on each request

    def admits(self, address: str | None, now: float) -> bool:
        if self.valid_until is not None and now >= self.valid_until:
            return False
        return not self.networks or address_in(address, self.networks)


def new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def hash_key(raw: str) -> str:
    # Keys are 190 bits of randomness: a fast hash is enough and keeps lookups cheap.
    return hashlib.sha256(raw.encode()).hexdigest()


def networks_of(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; ValueError names the first that is not one."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR: {str(cidr)[:64]!r}") from exc
    return tuple(networks)


def address_in(address: str | None, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:1.2.3.4 from a dual-stack socket
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def require_scope(caller: Caller, scope: str | None) -> None:
    if scope is not None and scope not in caller.scopes:
        raise InsufficientScope(scope=scope, keyScopes=[name for name in SCOPES if name in caller.scopes])


# The change feed: a sequence number and the ids of the last FEED_LENGTH changed keys, each
# scored with the number of its change.
CHANGES_SEQ, CHANGES = "keys:changes:seq", "keys:changes"
FEED_LENGTH = 1000
_PUBLISH = """
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], n, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[2]))
return n
"""
# ARGV[1] the last number this process read. Answers the current number, then the keys changed
# since, with the number of each change.
_READ = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq == tonumber(ARGV[1]) then return {seq} end
local changed = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES')
table.insert(changed, 1, seq)
return changed
"""


class KeyCache:
    """Key hash -> (trusted until, Caller or None for no such key), and where the feed was read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._seen: int | None = None  # the feed's number at the last read
        self._checked_at = float("-inf")
        self._generation = 0  # grows whenever entries are dropped

    def get(self, key_hash: str, ttl: float, connection=None, check_every: float = 0.5) -> Caller | None:
        if ttl <= 0:
            return _load_caller(key_hash)
        now = time.monotonic()
        if now - self._checked_at >= check_every and connection is not None:
            self._read_feed(connection, now, check_every)
        with self._lock:
            hit = self._entries.get(key_hash)
            generation = self._generation
        if hit is not None and hit[0] > now:
            return hit[1]
        caller = _load_caller(key_hash)
        with self._lock:
            # A change read from the feed during the load may postdate the row read: keep nothing.
            if generation == self._generation:
                if len(self._entries) > 50_000:
                    self._entries.clear()
                self._entries[key_hash] = (now + ttl, caller)
        return caller

    def cached(self, key_hash: str, connection, check_every: float) -> Caller | None:
        """The key's caller if this process holds a live read of it (the feed read as get()
        does); None otherwise, without reading the database."""
        now = time.monotonic()
        if now - self._checked_at >= check_every:
            self._read_feed(connection, now, check_every)
        hit = self._entries.get(key_hash)
        return hit[1] if hit is not None and hit[0] > now else None

    def _read_feed(self, connection, now: float, check_every: float) -> None:
        with self._lock:
            if now - self._checked_at < check_every:
                return  # another thread has just read it
            self._checked_at = now  # one thread reads; the others go on meanwhile
            seen = self._seen
        try:
            answer = run_script(connection, _READ, [CHANGES_SEQ, CHANGES], [-1 if seen is None else seen])
        except RedisError:
            log.warning("key change feed unreadable: cached keys dropped")
            self.forget(None)
            return
        seq, changed = int(answer[0]), answer[1:]
        ids = {int(member) for member in changed[0::2]}
        first = int(float(changed[1])) if changed else None
        complete = seen is not None and seq >= seen and (seq == seen or first == seen + 1)
        self.forget(ids if complete else None)  # a gap (feed trimmed, Redis emptied): drop all
        with self._lock:
            self._seen = seq

    def forget(self, key_ids: set[int] | None) -> None:
        """Drop the entries of these keys (None: every entry)."""
        with self._lock:
            if key_ids is None:
                self._entries = {}
            elif key_ids:
                for key_hash, (_, caller) in list(self._entries.items()):
                    if caller is not None and caller.key_id in key_ids:
                        del self._entries[key_hash]
            else:
                return
            self._generation += 1

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self.clear()


_cache = KeyCache()
os.register_at_fork(after_in_child=_cache.after_fork)


def publish_change(connection, key_id: int) -> None:
    """After the commit of a change to a key: every process forgets its cached read of it."""
    _cache.forget({key_id})
    try:
        run_script(connection, _PUBLISH, [CHANGES_SEQ, CHANGES], [key_id, FEED_LENGTH])
    except RedisError:
        log.warning("key change not published; it takes effect within KEY_CACHE_SECONDS", extra={"key_id": key_id})


def _unix(moment: datetime.datetime | None) -> float | None:
    return None if moment is None else moment.replace(tzinfo=datetime.UTC).timestamp()


def _load_caller(key_hash: str) -> Caller | None:
    live = ApiKey.revoked_at.is_null()
    row = ApiKey.get_or_none((ApiKey.key_hash == key_hash) & live)
    grace_end = None
    if row is None:  # a rotated secret, still in its grace period?
        row = ApiKey.get_or_none(
            (ApiKey.previous_key_hash == key_hash) & live & (ApiKey.previous_expires_at > utcnow())
        )
        if row is None:
            return None
        grace_end = _unix(row.previous_expires_at)
    ends = [moment for moment in (_unix(row.expires_at), grace_end) if moment is not None]
    return Caller(
        row.id,
        row.user_id,
        row.daily_quota,
        row.legacy_numbers_status_v1,
        row.max_purchases_per_day,
        row.max_spend_per_day,
        frozenset(row.scopes.split()),
        networks := networks_of(row.allowed_ips.split()),
        min(ends) if ends else None,
        bool(ends or networks),
    )


def authenticate(
    raw_key: str | None,
    cache_seconds: float = 0,
    address: str | None = None,
    connection=None,
    check_every: float = 0.5,
) -> Caller:
    """The key's caller, or BadKey: unknown, revoked, expired, or used from outside its allowlist."""
    raw_key = (raw_key or "").strip()
    if len(raw_key) != KEY_LENGTH or not raw_key.isalnum() or not raw_key.isascii():
        raise BadKey()
    caller = _cache.get(hash_key(raw_key), cache_seconds, connection, check_every)
    if caller is None or (caller.restricted and not caller.admits(address, time.time())):
        raise BadKey()
    return caller


def cached_caller(raw_key: str | None, address: str | None, connection, check_every: float) -> Caller | None:
    """authenticate() from this process's cache only: the caller if the key is known, live and
    admits the address; None when that takes the database or the answer is a refusal."""
    raw_key = (raw_key or "").strip()
    if len(raw_key) != KEY_LENGTH or not raw_key.isalnum() or not raw_key.isascii():
        return None
    caller = _cache.cached(hash_key(raw_key), connection, check_every)
    if caller is None or (caller.restricted and not caller.admits(address, time.time())):
        return None
    return caller


def authenticate_request(raw_key: str | None, connection) -> Caller:
    """authenticate() for the current request: its client address (behind TRUSTED_PROXIES, the
    one they forwarded), the app's cache settings, and the Redis connection its quota uses."""
    config = current_app.config
    return authenticate(
        raw_key, config["KEY_CACHE_SECONDS"], request.remote_addr, connection, config["KEY_CHANGES_CHECK_SECONDS"]
    )
