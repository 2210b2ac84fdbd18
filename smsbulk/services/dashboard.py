"""What the dashboard's owner pages show, each gathered by one call (smsbulk/dashboard/)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..models import Activation, ApiKey, User
from . import activations, keys, wallets


@dataclass
class Overview:
    email: str
    balance: Decimal
    currency: str
    keys: list[ApiKey]  # active ones, each with today's use (key_usage.attach)
    recent: list[Activation]


def overview(user_id: int, recent: int = 10) -> Overview:
    user = User.get_by_id(user_id)
    wallet = wallets.wallet_of(user)
    active = keys.with_usage(keys.listing(keys.Actor(user_id), state="active"))
    latest = [row for row, _ in activations.history_for_owner_latest(user_id, recent)]
    return Overview(user.email, wallet.balance, wallet.currency, active, latest)
