"""Bench (f): one `lifecycle.poll_once()` over 10,000 WAITING activations of the simulator provider.

The numbers are bought from the simulator itself (so it knows every ref) and the activations
inserted straight into the database, without the purchase path. The first cycle finds a code for
every one (SIMULATOR_SMS_DELAY_SECONDS=0), the second finds nothing new: the steady state of a
poller between codes. Both are timed; upstream calls are counted at the adapter. Needs an app
context; the rows are deleted afterwards so the rest of the bench starts clean.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Activation, Provider, Sms
from smsbulk.models import activations as st
from smsbulk.models.base import utcnow
from smsbulk.services import accounts, lifecycle, routing
from smsbulk.services.activations import new_public_id

COUNTRIES = (0, 6, 16, 22, 62, 187)


@dataclass
class PollFigures:
    activations: int
    first_seconds: float  # every activation gets its code
    first_counts: dict
    quiet_seconds: float  # nothing new upstream
    upstream_calls: int  # statuses() calls per cycle
    setup_seconds: float


class CountingAdapter:
    """Counts `statuses()` calls on the provider's cached adapter, for the length of the bench."""

    def __init__(self, adapter) -> None:
        self.adapter = adapter
        self.calls = 0
        self.original = adapter.statuses

    def __enter__(self):
        def counted(refs):
            self.calls += 1
            return self.original(refs)

        self.adapter.statuses = counted
        return self

    def __exit__(self, *exc) -> None:
        del self.adapter.statuses  # the class method shows through again


def _insert_waiting(provider: Provider, user_id: int, count: int) -> list[int]:
    adapter = routing.adapter_for(provider)
    expires = utcnow() + datetime.timedelta(hours=1)
    rows = []
    for n in range(count):
        country = COUNTRIES[n % len(COUNTRIES)]
        bought = adapter.buy("wa", country, "any", None, f"poll-bench-{n}")
        rows.append(
            {
                "public_id": new_public_id(),
                "user": user_id,
                "service": "wa",
                "country": country,
                "status": st.WAITING,
                "user_cost": Decimal("0.10"),
                "provider": provider.id,
                "provider_ref": bought.ref,
                "provider_cost": bought.cost,
                "phone_number": bought.phone,
                "expires_at": expires,
            }
        )
    with db.atomic():
        for start in range(0, len(rows), 500):
            Activation.insert_many(rows[start : start + 500]).execute()
    return [a.id for a in Activation.select(Activation.id).where(Activation.user == user_id)]


def _cleanup(user_id: int, ids: list[int]) -> None:
    with db.atomic():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            Sms.delete().where(Sms.activation.in_(chunk)).execute()
            Activation.delete().where(Activation.id.in_(chunk)).execute()


def poll_cycle(count: int = 10_000) -> PollFigures:
    with db.connection_context():
        provider = Provider.get(Provider.name == "simulator")
        user = accounts.create_user(f"poll-bench-{time.time_ns()}@loadtest.invalid", "", Decimal("0"))
        began = time.perf_counter()
        ids = _insert_waiting(provider, user.id, count)
        setup = time.perf_counter() - began
        with CountingAdapter(routing.adapter_for(provider).adapter) as counter:
            began = time.perf_counter()
            first = lifecycle.poll_once()
            first_seconds = time.perf_counter() - began
            calls_first = counter.calls
            began = time.perf_counter()
            lifecycle.poll_once()
            quiet_seconds = time.perf_counter() - began
        _cleanup(user.id, ids)
    return PollFigures(len(ids), first_seconds, first, quiet_seconds, calls_first, setup)
