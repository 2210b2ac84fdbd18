"""Per-key daily purchase count and spend cap, checked where the purchase happens."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..auth import Caller
from ..errors import GuardrailExceeded
from ..models import KeyDailyUsage


def count_purchase(key: Caller, price: Decimal) -> None:
    """Inside the purchase transaction: count it, or refuse it if a guardrail would be crossed.

    The limits come with the authenticated key (cached for KEY_CACHE_SECONDS); the counts are
    rows here, updated by compare-and-set, so racing purchases cannot overshoot them."""
    if key.max_purchases_per_day is None and key.max_spend_per_day is None:
        return
    key_id = key.key_id
    day = datetime.datetime.now(datetime.UTC).date()
    KeyDailyUsage.insert(key=key_id, day=day).on_conflict_ignore().execute()
    condition = (KeyDailyUsage.key == key_id) & (KeyDailyUsage.day == day)
    if key.max_purchases_per_day is not None:
        condition &= KeyDailyUsage.purchases < key.max_purchases_per_day
    if key.max_spend_per_day is not None:
        # Field on the left: peewee then converts the Decimal to cents with the field's own db_value.
        condition &= KeyDailyUsage.spent <= key.max_spend_per_day - price
    rows = (
        KeyDailyUsage.update(purchases=KeyDailyUsage.purchases + 1, spent=KeyDailyUsage.spent + price)
        .where(condition)
        .execute()
    )
    if rows != 1:
        raise GuardrailExceeded(
            maxPurchasesPerDay=key.max_purchases_per_day,
            maxSpendPerDay=None if key.max_spend_per_day is None else f"{key.max_spend_per_day:f}",
        )
