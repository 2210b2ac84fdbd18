"""Wallet and ledger: every balance change is a compare-and-set UPDATE plus a ledger row."""

from __future__ import annotations

from decimal import Decimal

import peewee

from ..compiled import compiled_insert, compiled_rows
from ..errors import BadRequest, NoBalance
from ..extensions import db
from ..models import Activation, LedgerEntry, User, Wallet
from ..money import to_money


def wallet_of(user: User) -> Wallet:
    return Wallet.get(Wallet.user == user)


def _take(user_id: int, amount: Decimal) -> Wallet | None:
    """Take `amount` if the balance covers it, in one compare-and-set statement that also
    answers the wallet's id and new balance (UPDATE ... RETURNING); None if it does not."""
    cents = Wallet.balance.db_value(amount)
    rows = compiled_rows(
        "wallet-take",
        lambda: (
            Wallet.update(balance=Wallet.balance - amount)
            .where((Wallet.user == user_id) & (Wallet.balance >= amount))
            .returning(Wallet.id, Wallet.balance)
        ),
        cents,
        user_id,
        cents,
    )
    return rows[0] if rows else None


def _give(user_id: int, amount: Decimal) -> Wallet:
    """Add `amount`; the wallet's id and new balance, as _take()."""
    rows = compiled_rows(
        "wallet-give",
        lambda: (
            Wallet.update(balance=Wallet.balance + amount)
            .where(Wallet.user == user_id)
            .returning(Wallet.id, Wallet.balance)
        ),
        Wallet.balance.db_value(amount),
        user_id,
    )
    if not rows:
        raise Wallet.DoesNotExist(f"no wallet for user {user_id}")
    return rows[0]


def _append(wallet: Wallet, kind: str, amount: Decimal, activation: Activation | None, memo: str) -> None:
    """The ledger row of a change made by _take() or _give(), with the balance it left."""
    values = {
        "wallet": wallet.id,
        "kind": kind,
        "amount": amount,
        "balance_after": wallet.balance,
        "activation": activation.id if activation is not None else None,
        "memo": memo,
    }
    compiled_insert("ledger-entry", LedgerEntry, values)


@db.atomic()
def deposit(user: User, amount: Decimal, memo: str = "deposit", kind: str = "deposit") -> Decimal:
    amount = to_money(amount)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest("amount must be positive, in whole cents")
    wallet = _give(user.id, amount)
    _append(wallet, kind, amount, None, memo)
    return wallet.balance


def debit_for(activation: Activation, user_id: int) -> None:
    """Take the activation's price; must run inside the caller's transaction."""
    price = activation.user_cost
    wallet = _take(user_id, price)
    if wallet is None:
        raise NoBalance(balance=_balance_text(user_id), price=f"{price:f}")
    _append(wallet, "purchase", -price, activation, f"activation {activation.id}")


def refund_for(activation: Activation) -> bool:
    """Give the activation's price back once; a second call does nothing and returns False.

    Runs inside the caller's transaction; UNIQUE(activation, kind) is the backstop that makes
    a racing second refund fail instead of paying twice.
    """
    if LedgerEntry.select().where((LedgerEntry.activation == activation) & (LedgerEntry.kind == "refund")).exists():
        return False
    try:
        with db.atomic():  # a savepoint: a lost race rolls back only this refund
            wallet = _give(activation.user_id, activation.user_cost)
            _append(wallet, "refund", activation.user_cost, activation, f"refund of activation {activation.id}")
    except peewee.IntegrityError:
        return False
    return True


def _balance_text(user_id: int) -> str:
    balance = Wallet.select(Wallet.balance).where(Wallet.user == user_id).scalar()
    return f"{balance:f}"


def balance_of(user: User) -> Decimal:
    return wallet_of(user).balance


def ledger_sum(user: User) -> Decimal:
    total = (
        LedgerEntry.select(peewee.fn.SUM(LedgerEntry.amount).coerce(True))
        .join(Wallet)
        .where(Wallet.user == user)
        .scalar()
    )
    return total if total is not None else Decimal("0.00")


def transactions(user: User):
    return LedgerEntry.select().join(Wallet).where(Wallet.user == user).order_by(LedgerEntry.id.desc())
