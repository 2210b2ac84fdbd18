"""Plain factory functions: a user with a wallet and a key, in one call."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import LedgerEntry, User
from smsbulk.models.users import SCOPES
from smsbulk.services import accounts, keys, wallets

_seq = itertools.count(1)


@dataclass
class Account:
    user: User
    key: str
    key_id: int

    @property
    def headers(self) -> dict:
        return {"x-api-key": self.key}


def make_key(user: User, quota: int | None = None, **options) -> keys.ApiKey:
    """A key of the user (every scope unless `scopes` says), made by its owner; `.secret` is set."""
    options.setdefault("scopes", SCOPES)
    with db.connection_context() if db.is_closed() else _noop():
        return keys.create(keys.Actor(user.id), daily_quota=quota, **options)


def make_user(balance: str | Decimal = "10.00", quota: int | None = None, **key_options) -> Account:
    with db.connection_context() if db.is_closed() else _noop():
        user = accounts.create_user(f"user{next(_seq)}@example.com", "", Decimal(str(balance)))
        key = make_key(user, quota, **key_options)
    return Account(user, key.secret, key.id)


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def balance(account: Account) -> Decimal:
    with db.connection_context() if db.is_closed() else _noop():
        return wallets.balance_of(account.user)


def assert_ledger_exact(account: Account) -> None:
    with db.connection_context() if db.is_closed() else _noop():
        assert wallets.balance_of(account.user) == wallets.ledger_sum(account.user)
        assert wallets.balance_of(account.user) >= 0


def assert_every_ledger_exact() -> None:
    """Every account's balance is the sum of its ledger, and none is negative."""
    with db.connection_context() if db.is_closed() else _noop():
        for user in User.select():
            assert wallets.balance_of(user) == wallets.ledger_sum(user), user.email
            assert wallets.balance_of(user) >= 0, user.email


def refunds(activation_id: int) -> int:
    """How many refund entries the ledger holds for one activation (never more than one)."""
    with db.connection_context():
        return (
            LedgerEntry.select()
            .where((LedgerEntry.activation == activation_id) & (LedgerEntry.kind == "refund"))
            .count()
        )


def race(*calls):
    """Run the calls at once, each in a thread of its own with its own connection; what each gave
    back, or the exception it raised (a losing side may answer an error: that is allowed)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            with db.connection_context():
                return call()
        except Exception as exc:  # noqa: BLE001 - the race's loser
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as threads:
        return list(threads.map(run, calls))
