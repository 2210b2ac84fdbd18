"""The operator's view of accounts: search, open one, and credit or debit its wallet.

An adjustment is a ledger entry of kind `adjustment` (its reason is the memo the account's owner
sees), the `ledger.entry` event in the account's log, and the operator's audit event, all in one
transaction. The form that asks for it carries a token made when the form was shown: submitting
it twice (a double click, a reload after POST) finds the token taken and changes nothing again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from decimal import Decimal

import peewee

from .. import money
from ..errors import BadRequest, IdempotencyKeyReused, NotFound
from ..models import Activation, ApiKey, LedgerEntry, User, Wallet, WalletAdjustment
from ..models import events as ev
from . import accounts, audit, events, pages, wallets

MAX_ADJUSTMENT = money.MAX_PRICE  # 100000.00 either way: a larger change is a typo
MAX_REASON = 200
_AMOUNT = re.compile(r"^[+-]?[0-9]{1,6}(\.[0-9]{1,2})?$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
RECENT = 20


@dataclass(frozen=True)
class Adjusted:
    entry: LedgerEntry
    balance: Decimal
    replayed: bool  # the form's token had been used: this is the earlier adjustment, not a new one


@dataclass(frozen=True)
class Account:
    user: User
    balance: Decimal
    ledger_total: Decimal
    keys: list[ApiKey]
    entries: list[LedgerEntry]
    activations: list[Activation]
    form_token: str  # for the adjustment form shown with it (see adjust)


def new_token() -> str:
    """The token a credit form carries (one per form shown)."""
    return secrets.token_urlsafe(24)


def parse_adjustment(text: object) -> Decimal:
    """An amount such as "5", "12.50" or "-3.10": whole cents, not zero, at most 100000 either way."""
    value = str(text or "").strip()
    if not _AMOUNT.fullmatch(value):
        raise BadRequest('amount: a number of whole cents such as "12.50", or "-3.10" to take money', field="amount")
    amount = Decimal(value).quantize(money.CENT)
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise BadRequest(f"amount: not zero, and at most {MAX_ADJUSTMENT} either way", field="amount")
    return amount


def _reason(text: object) -> str:
    reason = " ".join(str(text or "").split())
    if not 1 <= len(reason) <= MAX_REASON:
        raise BadRequest(f"reason: 1 to {MAX_REASON} characters, shown to the account's owner", field="reason")
    return reason


def _token(text: object) -> str:
    token = str(text or "").strip()
    if not _TOKEN.fullmatch(token):
        raise BadRequest("the form is missing its token: reload the page and try again", field="token")
    return token


def _user(user_id: object) -> User:
    text = str(user_id or "").strip()
    user = User.get_or_none(User.id == int(text)) if text.isdigit() and len(text) < 12 else None
    if user is None:
        raise NotFound("No such user", user=text[:20])
    return user


def search(query: str = "", page: int = 1) -> pages.Page:
    """Accounts whose email contains the query (or the account with that id), oldest first, with
    balance and active keys."""
    text = str(query or "").strip()[:254]
    found = accounts.listing()
    if text.isdigit():
        found = found.where(User.id == int(text[:12]))
    elif text:
        found = found.where(User.email.contains(text.lower()))
    return pages.paginate(found, page)


def account(user_id: object) -> Account:
    """One account as the operator sees it: balance (and the ledger's sum, which must match), keys,
    the latest ledger entries and activations."""
    user = _user(user_id)
    entries = wallets.transactions(user).limit(RECENT)
    recent = Activation.select().where(Activation.user == user).order_by(Activation.id.desc()).limit(RECENT)
    keys = ApiKey.select().where(ApiKey.user == user).order_by(ApiKey.id.desc())
    balance, total = wallets.balance_of(user), wallets.ledger_sum(user)
    return Account(user, balance, total, list(keys), list(entries), list(recent), new_token())


def adjust(operator: audit.Operator, user_id: object, amount: object, reason: object, token: object) -> Adjusted:
    """Credit (amount > 0) or debit (< 0) an account's wallet once per form token.

    NoBalance if a debit would take the balance below 0.00; IdempotencyKeyReused if the token was
    used for a different account or amount."""
    amount, reason, token = parse_adjustment(amount), _reason(reason), _token(token)
    user = _user(user_id)
    earlier = _by_token(token)
    if earlier is not None:
        return _replay(earlier, user, amount)
    try:
        with events.recording(operator.user_id, user.id):  # both accounts' locks, in id order
            entry = wallets.adjust(user.id, amount, reason)
            WalletAdjustment.create(token=token, actor=operator.user_id, user=user.id, entry=entry.id)
            audit.record(
                operator,
                ev.ADMIN_WALLET_ADJUSTED,
                f"user {user.email}",
                user_id=user.id,
                amount=amount,
                balance_after=entry.balance_after,
                reason=reason,
            )
    except peewee.IntegrityError:  # the same form, submitted at the same moment, won the token
        earlier = _by_token(token)
        if earlier is None:
            raise
        return _replay(earlier, user, amount)
    return Adjusted(entry, entry.balance_after, False)


def _by_token(token: str) -> WalletAdjustment | None:
    return (
        WalletAdjustment.select(WalletAdjustment, LedgerEntry)
        .join(LedgerEntry)
        .where(WalletAdjustment.token == token)
        .first()
    )


def _replay(earlier: WalletAdjustment, user: User, amount: Decimal) -> Adjusted:
    if earlier.user_id != user.id or earlier.entry.amount != amount:
        raise IdempotencyKeyReused("This form was already used for another adjustment: reload the page")
    return Adjusted(earlier.entry, Wallet.get(Wallet.user == user).balance, True)
