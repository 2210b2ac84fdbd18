"""Wallet and ledger: every balance change is a compare-and-set UPDATE plus a ledger row."""

from __future__ import annotations

from decimal import Decimal

import peewee

from ..errors import BadRequest, NoBalance
from ..extensions import db
from ..models import Activation, LedgerEntry, User, Wallet
from ..money import to_money


def wallet_of(user: User) -> Wallet:
    return Wallet.get(Wallet.user == user)


def _change(condition, amount: Decimal) -> Wallet | None:
    """Add `amount` (negative: take) to the wallet matching `condition`, in one statement that
    also answers the wallet's id and new balance (UPDATE ... RETURNING); None if none matched."""
    query = Wallet.update(balance=Wallet.balance + amount).where(condition).returning(Wallet.id, Wallet.balance)
    return next(iter(query.execute()), None)


def _append(wallet: Wallet, kind: str, amount: Decimal, activation: Activation | None, memo: str) -> LedgerEntry:
    """The ledger row of a change made by _change(), with the balance that change left."""
    return LedgerEntry.create(
        wallet=wallet.id, kind=kind, amount=amount, balance_after=wallet.balance, activation=activation, memo=memo
    )


@db.atomic()
def deposit(user: User, amount: Decimal, memo: str = "deposit", kind: str = "deposit") -> Decimal:
    amount = to_money(amount)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest("amount must be positive, in whole cents")
    wallet = _change(Wallet.user == user, amount)
    if wallet is None:
        raise Wallet.DoesNotExist(f"no wallet for user {user}")
    return _append(wallet, kind, amount, None, memo).balance_after


def debit_for(activation: Activation, user_id: int) -> None:
    """Take the activation's price; must run inside the caller's transaction."""
    price = activation.user_cost
    wallet = _change((Wallet.user == user_id) & (Wallet.balance >= price), -price)
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
            wallet = _change(Wallet.user == activation.user_id, activation.user_cost)
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
