"""Numbers bought by one batch job, recorded together: one transaction for a group of purchases.

A batch job (purchase_job.drain) buys each purchase it takes upstream at once, but records the
number later, with the others of its group: one write transaction that locks the buyers'
accounts in one statement, moves each activation to WAITING, inserts all their events in one
statement and commits once. On SQLite that is one turn of the single writer for the group
instead of one per purchase; on PostgreSQL, four round trips fewer per purchase.

A group closes when it holds GROUP_MAX purchases, when its first number has waited
GROUP_SECONDS, or when the batch list is empty. After a purchase that took longer than
GROUP_SECONDS (a slow upstream), the next one is recorded alone, at once: a buyer's answer waits
for its group at most GROUP_SECONDS, or one upstream call when the upstream has just slowed.

Until its group is recorded, a purchase's attempt stays in flight on its row, as during the
upstream call: a worker that dies meanwhile leaves it to the recovery pass, which asks
the provider what it sold.
"""

from __future__ import annotations

import logging
import time

import peewee

from . import events, fulfilment
from .fulfilment import Bought
from .purchase_job import Outcome

log = logging.getLogger(__name__)

GROUP_MAX = 16
GROUP_SECONDS = 0.02


class Group:
    """A batch job's buyer (purchase_job.Buyer): the numbers it bought and has not recorded yet."""

    def __init__(self) -> None:
        self.bought: dict[int, Bought] = {}
        self.opened = 0.0
        self.slow = False  # the last purchase took longer than GROUP_SECONDS: record the next alone

    def buy(self, activation_id: int) -> Outcome | None:
        """Buy upstream at once: the outcome, or None for a number left in the group."""
        started = time.monotonic()
        result = fulfilment.fulfil(activation_id, defer=not self.slow)
        self.slow = time.monotonic() - started > GROUP_SECONDS
        if isinstance(result, Outcome):
            return result
        if not self.bought:
            self.opened = time.monotonic()
        self.bought[activation_id] = result
        return None

    def due(self) -> bool:
        return len(self.bought) >= GROUP_MAX or (bool(self.bought) and time.monotonic() - self.opened >= GROUP_SECONDS)

    def record(self) -> list[tuple[int, Outcome]]:
        """Record the group (see record_group) and empty it: each purchase's outcome."""
        taken, self.bought = self.bought, {}
        if not taken:
            return []
        return list(zip(taken, record_group(list(taken.values())), strict=True))


def record_group(group: list[Bought]) -> list[Outcome]:
    """Record these numbers in one transaction, or, if one of them cannot be (a ref another
    activation holds already: the whole transaction is rolled back), each on its own, as the
    purchase job would have (fulfilment.finish: the next offers for that one)."""
    if len(group) == 1:
        return [fulfilment.finish(group[0])]
    try:
        with events.recording(*{bought.order.user_id for bought in group}):
            moved = [
                fulfilment.move_to_waiting(bought.order.id, bought.order.user_id, bought.provider, bought.purchase)
                for bought in group
            ]
    except peewee.IntegrityError:
        log.warning("a group of %s purchases could not be recorded together; recording each alone", len(group))
        return [fulfilment.finish(bought) for bought in group]
    return [
        fulfilment.recorded(bought.order.id, row, bought.provider, bought.purchase, bought.reference)
        for bought, row in zip(group, moved, strict=True)
    ]
