"""Users and their API keys."""

from __future__ import annotations

from decimal import Decimal

from peewee import fn
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import BadRequest, NotFound
from ..models import ApiKey, User, Wallet
from . import events, keys, wallets


def create_user(email: str, password: str = "", balance: Decimal = Decimal("0"), role: str = "user") -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise BadRequest("a valid email is required")
    with events.recording(lock=False):  # the opening deposit's event commits with the account
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


def summary(user_id: int) -> User:
    """The account as GET /account shows it: the user, with `active_keys` counted."""
    user = User.get_by_id(user_id)
    user.active_keys = keys.active_count(user_id)
    return user


def listing():
    """Every user with the balance and the number of active keys, oldest first (operators)."""
    active_keys = ApiKey.select(fn.COUNT(ApiKey.id)).where((ApiKey.user == User.id) & keys.active_condition())
    columns = (User.id, User.email, User.role, User.created_at, Wallet.balance, active_keys.alias("active_keys"))
    return User.select(*columns).join(Wallet).order_by(User.id).objects()
