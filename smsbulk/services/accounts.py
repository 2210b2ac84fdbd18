"""Users and their API keys.

Passwords are hashed one way, argon2id (argon2-cffi's defaults, RFC 9106's low-memory choice),
for the CLI and the dashboard alike.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from peewee import fn

from ..errors import BadRequest, NotFound
from ..models import ApiKey, User, Wallet
from ..models.users import ROLES
from . import events, keys, wallets

_hasher = PasswordHasher()


def create_user(
    email: str, password: str = "", balance: Decimal = Decimal("0"), role: str = "user", memo: str = "opening balance"
) -> User:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise BadRequest("a valid email is required")
    with events.recording(lock=False):  # the opening deposit's event commits with the account
        if User.select().where(User.email == email).exists():
            raise BadRequest("a user with this email exists", email=email)
        user = User.create(email=email, password_hash=hash_password(password) if password else "", role=role)
        Wallet.create(user=user)
        if balance:
            wallets.deposit(user, balance, memo=memo)
    return user


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(user_id: int, password: str) -> None:
    """The CLI's (and the demo's) way to set a password: sessions open at the old one go on."""
    User.update(password_hash=hash_password(password)).where(User.id == user_id).execute()


def check_password(user: User, password: str) -> bool:
    """Whether the password is the user's; an account without a password (made by the CLI or
    for the tests without one) matches none."""
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_check(password: str) -> None:
    """The cost of a check, for an email that has no account: both answers take as long."""
    check_password(User(password_hash=_dummy_hash()), password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password")


def user_by_email(email: str) -> User:
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise NotFound("no such user", email=email)
    return user


def set_role(email: str, role: str) -> User:
    """Give an account a role: `admin` opens the operator pages of the dashboard to it."""
    if role not in ROLES:
        raise BadRequest(f"role: one of {', '.join(ROLES)}", field="role")
    user = user_by_email(email)
    User.update(role=role).where(User.id == user.id).execute()
    user.role = role
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
