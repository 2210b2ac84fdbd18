"""Dashboard accounts: sign up, log in (throttled), change password.

Failed logins are counted in Redis per account and per client address, each in a window of
LOGIN_LOCK_SECONDS that starts at its first failure; at LOGIN_MAX_FAILURES (account) or
LOGIN_MAX_FAILURES_PER_IP (address) further attempts are refused, right password or not, until
the window ends. An unknown email is counted like a known one, and answered the same as a wrong
password after the same work (one argon2 check), so neither the answer nor its time tells which
emails have accounts.
"""

from __future__ import annotations

import hashlib

from flask import current_app

from .. import money
from ..errors import BadRequest, LoginFailed, LoginLocked, SignupClosed
from ..extensions import db, get_redis
from ..models import User
from . import accounts

MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte of password would be work for nothing

# Each failure: count it, and start its window with the first one.
_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


def _counters(email: str, address: str) -> tuple[str, str]:
    # The email is hashed: Redis holds no address book.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"login:failures:account:{account}", f"login:failures:ip:{address}"


def check_new_password(password: str) -> str:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if not minimum <= len(password) <= MAX_PASSWORD:
        raise BadRequest(f"a password is {minimum} to {MAX_PASSWORD} characters")
    return password


def sign_up(email: str, password: str) -> User:
    """A new account with the trial credit (TRIAL_CREDIT, a ledger deposit), unless sign-up is off."""
    config = current_app.config
    if not config["SIGNUP_ENABLED"]:
        raise SignupClosed()
    trial = money.to_money(config["TRIAL_CREDIT"])
    return accounts.create_user(email, check_new_password(password), trial, memo="trial credit")


def log_in(email: str, password: str, address: str) -> User:
    """The user whose email and password these are; LoginFailed otherwise, LoginLocked while
    the account or the address has failed too often."""
    config = current_app.config
    redis = get_redis()
    account_key, address_key = _counters(email, address)
    failures = redis.mget(account_key, address_key)
    account_failures, address_failures = (int(n or 0) for n in failures)
    if account_failures >= config["LOGIN_MAX_FAILURES"] or address_failures >= config["LOGIN_MAX_FAILURES_PER_IP"]:
        wait = max(redis.ttl(account_key), redis.ttl(address_key), 1)
        raise LoginLocked(f"Too many failed logins: try again in {-(-wait // 60)} min", retryAfter=wait)
    user = User.get_or_none(User.email == email.strip().lower()) if len(email) <= 254 else None
    if user is not None and accounts.check_password(user, password[:MAX_PASSWORD]):
        redis.delete(account_key)
        return user
    if user is None:
        accounts.dummy_check(password[:MAX_PASSWORD])
    script = redis.register_script(_COUNT_FAILURE)
    for key in (account_key, address_key):
        script(keys=[key], args=[config["LOGIN_LOCK_SECONDS"]])
    raise LoginFailed()


def change_password(user_id: int, current: str, new: str) -> User:
    """A new password, and a new session version: every session opened before ends."""
    user = User.get_by_id(user_id)
    if not accounts.check_password(user, current[:MAX_PASSWORD]):
        raise BadRequest("the current password is wrong")
    password_hash = accounts.hash_password(check_new_password(new))
    with db.atomic():
        User.update(password_hash=password_hash, session_version=User.session_version + 1).where(
            User.id == user_id
        ).execute()
    return User.get_by_id(user_id)
