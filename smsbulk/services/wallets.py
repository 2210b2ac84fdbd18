"""Wallet and ledger: every balance change is a compare-and-set UPDATE, a ledger row and its event.

Each change runs inside events.recording() (the wallet UPDATE is the account's lock), and each
ledger row gets a `ledger.entry` event showing it as the REST API does.
"""

from __future__ import annotations

from decimal import Decimal

import peewee

from .. import representation
from ..compiled import compiled_insert, compiled_rows
from ..errors import BadRequest, NoBalance
from ..models import Activation, LedgerEntry, RentalCharge, User, Wallet
from ..models import events as types
from ..money import to_money
from . import events


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


def _append(
    user_id: int,
    wallet: Wallet,
    kind: str,
    amount: Decimal,
    activation: Activation | None,
    memo: str,
    charge: RentalCharge | None = None,
) -> LedgerEntry:
    """The ledger row of a change made by _take() or _give(), with the balance it left, and its event."""
    values = {
        "wallet": wallet.id,
        "kind": kind,
        "amount": amount,
        "balance_after": wallet.balance,
        "activation": activation.id if activation is not None else None,
        "rental_charge": charge.id if charge is not None else None,
        "memo": memo,
    }
    entry = compiled_insert("ledger-entry", LedgerEntry, values)
    if activation is not None:
        entry.activation = activation  # shown by its public id: no query
    if charge is not None:
        entry.rental_charge = charge
    rental_id = charge.rental_id if charge is not None else None
    events.add(user_id, types.LEDGER_ENTRY, representation.ledger_entry(entry), entry.activation_id, rental_id)
    return entry


def deposit(user: User, amount: Decimal, memo: str = "deposit", kind: str = "deposit") -> Decimal:
    amount = to_money(amount)
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise BadRequest("amount must be positive, in whole cents")
    with events.recording(user.id, lock=False):  # the credit locks the wallet
        wallet = _give(user.id, amount)
        _append(user.id, wallet, kind, amount, None, memo)
    return wallet.balance


def take(user_id: int, price: Decimal) -> Wallet:
    """Take a purchase's price, or raise NoBalance: inside the caller's recording(), as the first
    statement that touches the account (its UPDATE is the account's lock)."""
    wallet = _take(user_id, price)
    if wallet is None:
        raise NoBalance(balance=_balance_text(user_id), price=f"{price:f}")
    return wallet


def adjust(user_id: int, amount: Decimal, memo: str) -> LedgerEntry:
    """An operator's credit (amount > 0) or debit (< 0), a ledger entry of kind `adjustment`.

    Inside the caller's recording(), which holds the account's lock; a debit the balance does not
    cover raises NoBalance (the compare-and-set of take(): never below 0.00)."""
    wallet = _give(user_id, amount) if amount > 0 else take(user_id, -amount)
    return _append(user_id, wallet, "adjustment", amount, None, memo)


def record_debit(user_id: int, wallet: Wallet, activation: Activation) -> None:
    """The ledger row (and event) of the price take() took for this activation."""
    _append(user_id, wallet, "purchase", -activation.user_cost, activation, f"activation {activation.id}")


def refund_for(activation: Activation) -> bool:
    """Give the activation's price back once; a second call does nothing and returns False.

    Runs inside the caller's recording() (which holds the account's lock); UNIQUE(activation,
    kind) is the backstop that makes a racing second refund fail instead of paying twice.
    """
    if LedgerEntry.select().where((LedgerEntry.activation == activation) & (LedgerEntry.kind == "refund")).exists():
        return False
    user_id = activation.user_id
    try:
        with events.recording(user_id, lock=False), Wallet._meta.database.atomic():  # a savepoint
            wallet = _give(user_id, activation.user_cost)
            _append(
                user_id, wallet, "refund", activation.user_cost, activation, f"refund of activation {activation.id}"
            )
    except peewee.IntegrityError:
        return False
    return True


def record_rental_debit(user_id: int, wallet: Wallet, charge: RentalCharge) -> None:
    """The ledger row (and event) of the price take() took for a rental (charge 0) or an extension."""
    memo = f"rental {charge.rental_id}" + (f", extension {charge.seq}" if charge.seq else "")
    _append(user_id, wallet, "purchase", -charge.amount, None, memo, charge)


def refund_rental_charge(user_id: int, charge: RentalCharge, amount: Decimal) -> bool:
    """Give back `amount` (at most what the charge took) once per charge; False if it was already.

    Runs inside the caller's recording(); UNIQUE(rental_charge, kind) is the backstop, as for
    activations."""
    if amount <= 0:
        return False
    try:
        with events.recording(user_id, lock=False), Wallet._meta.database.atomic():  # a savepoint
            wallet = _give(user_id, amount)
            memo = f"refund of rental {charge.rental_id}" + (f", extension {charge.seq}" if charge.seq else "")
            _append(user_id, wallet, "refund", amount, None, memo, charge)
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
    """The wallet's entries newest first, each with its activation's public id (one query a page).

    The wallet's id is read first: given as a value, the planner walks the (wallet, id) index
    backwards and stops after the page; through a join it guessed a few rows per wallet and
    sorted all 190,000 of a large account's (0.2-0.4 s a page)."""
    wallet_id = Wallet.select(Wallet.id).where(Wallet.user == user).scalar()
    return (
        LedgerEntry.select(LedgerEntry, Activation.id, Activation.public_id)
        .join(Activation, peewee.JOIN.LEFT_OUTER)
        .where(LedgerEntry.wallet == wallet_id)
        .order_by(LedgerEntry.id.desc())
    )
