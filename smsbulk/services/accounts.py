"""Users and their API keys."""

from __future__ import annotations

from decimal import Decimal

from werkzeug.security import check_password_hash, generate_password_hash

from .. import auth, quota
from ..errors import BadRequest, KeyLimitReached, NotFound
from ..extensions import db
from ..models import ApiKey, User, Wallet
from ..models.base import utcnow
from . import wallets

MAX_ACTIVE_KEYS = 10


@db.atomic()
def create_user(email: str, password: str = "", balance: Decimal = Decimal("0"), role: str = "user") -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise BadRequest("a valid email is required")
    if User.select().where(User.email == email).exists():
        raise BadRequest("a user with this email exists", email=email)
    user = User.create(email=email, password_hash=generate_password_hash(password) if password else "", role=role)
    Wallet.create(user=user)
    if balance:
        wallets.deposit(user, balance, memo="opening balance")
    return user


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def user_by_email(email: str) -> User:
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise NotFound("no such user", email=email)
    return user


@db.atomic()
def create_key(user: User, name: str = "default", quota: int | None = None, **guardrails) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored."""
    active = ApiKey.select().where((ApiKey.user == user) & ApiKey.revoked_at.is_null()).count()
    if active >= MAX_ACTIVE_KEYS:
        raise KeyLimitReached()
    if quota is not None and quota < 0:
        raise BadRequest("quota must not be negative")
    raw = auth.new_key()
    fields = {"daily_quota": quota} if quota is not None else {}
    key = ApiKey.create(
        user=user, name=name[:64], prefix=raw[: auth.PREFIX_LENGTH], key_hash=auth.hash_key(raw), **fields, **guardrails
    )
    return key, raw


def revoke_key(user: User, key_id: int) -> ApiKey:
    rows = (
        ApiKey.update(revoked_at=utcnow())
        .where((ApiKey.id == key_id) & (ApiKey.user == user) & ApiKey.revoked_at.is_null())
        .execute()
    )
    if not rows:
        raise NotFound("no such active key")
    return ApiKey.get_by_id(key_id)


@db.atomic()
def rotate_key(user: User, key_id: int) -> tuple[ApiKey, str]:
    old = revoke_key(user, key_id)
    return create_key(
        user,
        name=old.name,
        quota=old.daily_quota,
        max_purchases_per_day=old.max_purchases_per_day,
        max_spend_per_day=old.max_spend_per_day,
        legacy_numbers_status_v1=old.legacy_numbers_status_v1,
    )


def keys_of(user: User):
    return ApiKey.select().where(ApiKey.user == user).order_by(ApiKey.id)


def key_status(caller: auth.Caller, usage: quota.Usage) -> dict:
    key = ApiKey.get_by_id(caller.key_id)
    return {
        "name": key.name,
        "prefix": key.prefix,
        "daily_quota": usage.limit,
        "usage_today": usage.used,
        "remaining": usage.remaining,
        "reset_at": usage.reset_at,
        "max_purchases_per_day": key.max_purchases_per_day,
        "max_spend_per_day": key.max_spend_per_day,
    }
