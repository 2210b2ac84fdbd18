"""API keys: create, list, change, rotate and revoke, for every face (REST, CLI, dashboard).

Who asks is an Actor: a key, whose scopes bound what it may grant, or the account's owner (a
dashboard session, an operator at the CLI), bound by nothing. A key may not give a key a scope
it lacks itself, nor change or rotate a key that holds one (rotating would hand it that key's
secret); any key with the `keys` scope may revoke any key of its account.

Each change is one transaction that holds the account's lock (events.recording) - which also
keeps the limit of active keys exact when creates race - and appends its audit event, whose
payload is the key as the REST API shows it. After the commit the change is published to every
process's key cache (auth.publish_change), so it takes effect everywhere within a second.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from .. import auth, money, representation
from ..errors import BadRequest, InsufficientScope, KeyLimitReached, KeyNotActive, KeyNotFound
from ..extensions import get_redis
from ..models import ApiKey
from ..models import events as ev
from ..models.base import utcnow
from ..models.users import SCOPES
from . import events, key_usage

DEFAULT_SCOPES = ("read", "purchase")
MAX_ACTIVE_KEYS = 10
MAX_NAME = 64
MAX_QUOTA = 1_000_000_000
MAX_PURCHASES = 1_000_000
MAX_ALLOWED_IPS = 32
MAX_GRACE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Actor:
    user_id: int
    scopes: frozenset[str] | None = None  # None: the account's owner

    @classmethod
    def of(cls, caller: auth.Caller) -> Actor:
        return cls(caller.user_id, caller.scopes)


# The rules of each setting, shared with the REST schemas: ValueError says what is wrong.


def check_name(value: str) -> str:
    name = str(value).strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ValueError(f"a name is 1 to {MAX_NAME} characters")
    return name


def check_count(value: int | None, maximum: int, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"a whole number from 0 to {maximum}")
    return value


def check_amount(value: object) -> Decimal | None:
    """A spend cap: a string by money's one rule for amounts users give, or a Decimal read by it."""
    if value is None:
        return None
    amount = value if isinstance(value, Decimal) else money.parse_amount(value)
    if not 0 <= amount <= money.MAX_PRICE or amount != amount.quantize(money.CENT):
        raise ValueError(f"must be {money.AMOUNT_RULE}")
    return amount


def check_scopes(values: Iterable[str]) -> str:
    chosen = set(values)
    if not chosen or not chosen <= set(SCOPES):
        raise ValueError(f"one or more of {', '.join(SCOPES)}")
    return " ".join(scope for scope in SCOPES if scope in chosen)


def check_ips(values: Iterable[str]) -> str:
    networks = auth.networks_of(values)
    if len(networks) > MAX_ALLOWED_IPS:
        raise ValueError(f"at most {MAX_ALLOWED_IPS} addresses or networks")
    return " ".join(dict.fromkeys(str(network) for network in networks))


def check_expiry(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    if value <= utcnow():
        raise ValueError("an expiry in the future")
    return value


CHECKS = {
    "name": check_name,
    "daily_quota": lambda value: check_count(value, MAX_QUOTA, nullable=False),
    "max_purchases_per_day": lambda value: check_count(value, MAX_PURCHASES),
    "max_spend_per_day": check_amount,
    "scopes": check_scopes,
    "allowed_ips": check_ips,
}


def _cleaned(settings: dict) -> dict:
    """Column values of the given settings; BadRequest names the first that breaks its rule."""
    values = {}
    for name, value in settings.items():
        check = CHECKS.get(name)
        if check is None:
            raise BadRequest(f"unknown key setting {name!r}")
        try:
            values[name] = check(value)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"{name}: {exc}", field=name) from exc
    return values


def _bound(actor: Actor, scopes: str) -> None:
    """A key acts only on what its own scopes cover."""
    if actor.scopes is None:
        return
    beyond = [scope for scope in scopes.split() if scope not in actor.scopes]
    if beyond:
        raise InsufficientScope("A key cannot grant, change or rotate scopes it does not hold", scope=beyond[0])


def _owned(actor: Actor, public_id: str) -> ApiKey:
    key = ApiKey.get_or_none((ApiKey.public_id == str(public_id)[:32]) & (ApiKey.user == actor.user_id))
    if key is None:
        raise KeyNotFound(id=str(public_id)[:40])
    return key


def active_condition():
    return ApiKey.revoked_at.is_null() & (ApiKey.expires_at.is_null() | (ApiKey.expires_at > utcnow()))


def active_count(user_id: int) -> int:
    return ApiKey.select().where((ApiKey.user == user_id) & active_condition()).count()


def _audit(key: ApiKey, event_type: str) -> None:
    events.add(key.user_id, event_type, representation.key(key))


def create(
    actor: Actor,
    name: str = "default",
    daily_quota: int | None = None,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    allowed_ips: Iterable[str] = (),
    expires_at: datetime.datetime | None = None,
    legacy_numbers_status_v1: bool = False,
    **guardrails,
) -> ApiKey:
    """A new key. Its secret is on the answer (`.secret`) and nowhere else: only its hash is kept."""
    quota = current_app.config["DEFAULT_DAILY_QUOTA"] if daily_quota is None else daily_quota
    values = _cleaned({"name": name, "daily_quota": quota, "scopes": scopes, "allowed_ips": allowed_ips, **guardrails})
    try:
        values["expires_at"] = check_expiry(expires_at)
    except ValueError as exc:
        raise BadRequest(f"expires_at: {exc}", field="expires_at") from exc
    _bound(actor, values["scopes"])
    raw = auth.new_key()
    with events.recording(actor.user_id):
        if active_count(actor.user_id) >= MAX_ACTIVE_KEYS:
            raise KeyLimitReached(limit=MAX_ACTIVE_KEYS)
        key = ApiKey.create(
            user=actor.user_id,
            public_id="key_" + secrets.token_hex(8),
            prefix=raw[: auth.PREFIX_LENGTH],
            key_hash=auth.hash_key(raw),
            legacy_numbers_status_v1=legacy_numbers_status_v1,
            **values,
        )
        key_usage.unused(key)
        _audit(key, ev.KEY_CREATED)
    key.secret = raw
    return key


def listing(actor: Actor, state: str | None = None):
    """The account's keys, newest first (a query: page it, then with_usage() on the page)."""
    query = ApiKey.select().where(ApiKey.user == actor.user_id)
    now = utcnow()
    if state == "active":
        query = query.where(active_condition())
    elif state == "expired":
        query = query.where(ApiKey.revoked_at.is_null() & (ApiKey.expires_at <= now))
    elif state == "revoked":
        query = query.where(ApiKey.revoked_at.is_null(False))
    return query.order_by(ApiKey.id.desc())


def with_usage(found: list[ApiKey]) -> list[ApiKey]:
    """The keys, each with what it used today and when it was last used."""
    return key_usage.attach(list(found))


def get(actor: Actor, public_id: str) -> ApiKey:
    return key_usage.attach([_owned(actor, public_id)])[0]


def current(caller: auth.Caller, usage) -> ApiKey:
    """The calling key, with its quota as counted for this very request."""
    key = key_usage.attach([ApiKey.get_by_id(caller.key_id)])[0]
    key.usage_today, key.remaining, key.reset_at = usage.used, usage.remaining, usage.reset_at
    return key


def _change(actor: Actor, public_id: str, event_type: str, update, revoking: bool = False) -> ApiKey:
    """One change to a key, under the account's lock: `update(key)` gives the columns to write
    ({}: nothing to do). Only an active key changes; any key but a revoked one can be revoked."""
    key = key_usage.attach([_owned(actor, public_id)])[0]  # what it has used: read before the lock
    with events.recording(actor.user_id):
        fresh = _owned(actor, public_id)
        for name in ("usage_today", "purchases_today", "spent_today", "last_used"):
            setattr(fresh, name, getattr(key, name))
        if fresh.state == "revoked" and revoking:
            return fresh
        if fresh.state != "active" and not revoking:
            raise KeyNotActive(id=fresh.public_id, state=fresh.state)
        if not revoking:
            _bound(actor, fresh.scopes)
        values = update(fresh)
        if not values:
            return fresh
        ApiKey.update(values).where(ApiKey.id == fresh.id).execute()
        for name, value in values.items():
            setattr(fresh, name, value)
        _audit(fresh, event_type)
    auth.publish_change(get_redis(), fresh.id)
    return fresh


def change(actor: Actor, public_id: str, **settings) -> ApiKey:
    """Change name, quota, guardrails, scopes or allowed addresses; what is not given stays."""
    values = _cleaned(settings)
    if "scopes" in values:
        _bound(actor, values["scopes"])

    def differing(key: ApiKey) -> dict:
        return {name: value for name, value in values.items() if getattr(key, name) != value}

    return _change(actor, public_id, ev.KEY_CHANGED, differing)


def rotate(actor: Actor, public_id: str, grace_seconds: int = 0) -> ApiKey:
    """A new secret for the same key (id, name and settings kept); the old one keeps working for
    `grace_seconds` (at most 24 h), then never again. The new secret is on `.secret`."""
    try:
        grace = check_count(grace_seconds, MAX_GRACE_SECONDS, nullable=False)
    except ValueError as exc:
        raise BadRequest(f"grace_seconds: {exc}", field="grace_seconds") from exc
    raw = auth.new_key()

    def new_secret(key: ApiKey) -> dict:
        return {
            "key_hash": auth.hash_key(raw),
            "prefix": raw[: auth.PREFIX_LENGTH],
            "previous_key_hash": key.key_hash if grace else None,
            "previous_expires_at": utcnow() + datetime.timedelta(seconds=grace) if grace else None,
        }

    key = _change(actor, public_id, ev.KEY_ROTATED, new_secret)
    key.secret = raw
    return key


def revoke(actor: Actor, public_id: str) -> ApiKey:
    """Revoke a key (both its secrets, within a rotation's grace period). Revoking a revoked key
    changes nothing."""
    return _change(actor, public_id, ev.KEY_REVOKED, lambda key: {"revoked_at": utcnow()}, revoking=True)


def owner_of(public_id: str) -> Actor:
    """The owner of a key, acting on it (an operator at the CLI)."""
    key = ApiKey.get_or_none(ApiKey.public_id == str(public_id)[:32])
    if key is None:
        raise KeyNotFound(id=str(public_id)[:40])
    return Actor(key.user_id)
