"""Bench (f): one `lifecycle.poll_once()` over 10,000 WAITING activations of the simulator provider.

The numbers are bought from the simulator itself (so it knows every ref) and the activations
inserted straight into the database, without the purchase path. The first cycle finds a code for
every one (SIMULATOR_SMS_DELAY_SECONDS=0), the second finds nothing new: the steady state of a
poller between codes. Both are timed; upstream calls are counted at the adapter. Needs an app
context; the rows are deleted afterwards so the rest of the bench starts clean.
"""

from __future__ import annotations

import datetime
import json
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
    """Counts `statuses()` calls on the provider's cached adapter, and times them, for the length
    of the bench. The simulator answers in this process, so a cycle's time includes the upstream's
    own work (reading and parsing every number's state), which a real provider does on its servers:
    `seconds` tells it apart."""

    def __init__(self, adapter) -> None:
        self.adapter = adapter
        self.calls = 0
        self.seconds = 0.0
        self.original = adapter.statuses

    def __enter__(self):
        def counted(refs):
            self.calls += 1
            began = time.perf_counter()
            try:
                return self.original(refs)
            finally:
                self.seconds += time.perf_counter() - began

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


@dataclass
class LargeFigures:
    open_activations: int
    coded: int  # codes due this cycle
    cycle_seconds: float  # a cycle that finds `coded` new codes among them
    cycle_cpu: float  # of this process (the poller and the in-process simulator)
    cycle_counts: dict
    quiet_seconds: float  # the next one: nothing new
    upstream_calls: int
    register_seconds: float
    upstream_seconds: float  # of cycle_seconds: the in-process simulator answering (CountingAdapter)


def register_open(simulator, coded: int, now: float) -> int:
    """Tell the simulator about the open activations of the database (seed_large.py's), as an
    upstream knows the numbers it sold: each RECEIVED one with the message it holds, `coded`
    WAITING ones with a code due now, the others with theirs an hour away. One pipeline."""
    rows = Activation.select(
        Activation.provider_ref, Activation.status, Activation.service, Activation.country, Activation.phone_number
    ).where(Activation.status.in_(st.OPEN) & Activation.provider.is_null(False))
    pipe = simulator.redis.pipeline(transaction=False)
    count = due = 0
    for ref, status, service, country, phone in rows.tuples().iterator():
        waiting = status == st.WAITING
        asked = now + 3600 if waiting and due >= coded else now - simulator.sms_delay - 1
        due += waiting and asked < now
        state = {"phone": phone, "service": service, "country": country, "state": "WAITING", "sent": [asked]}
        pipe.set(simulator._key(ref), json.dumps(state), ex=3600)
        count += 1
        if count % 5000 == 0:
            pipe.execute()
    pipe.execute()
    return count


def forget_open(simulator) -> None:
    """The simulator forgets the numbers register_open() told it about: the cron of a bench that
    follows polls them again every cycle, half a core of this machine's two (measured apart, here)."""
    pipe = simulator.redis.pipeline(transaction=False)
    for count, (_, _, ref) in enumerate(lifecycle.open_refs().tuples().iterator(), 1):
        pipe.delete(simulator._key(ref))
        if count % 5000 == 0:
            pipe.execute()
    pipe.execute()


def large_cycle(coded: int = 1000) -> LargeFigures:
    """lifecycle.poll_once() over every open activation of the database, `coded` of them getting
    a code this cycle (the steady state: a cycle every POLL_INTERVAL_SECONDS, a few codes each),
    then once more with nothing new. Changes what a poller would: `coded` activations get their
    SMS, its event and RECEIVED."""
    with db.connection_context():
        provider = Provider.get(Provider.name == "simulator")
        counting = routing.adapter_for(provider).adapter
        began = time.perf_counter()
        count = register_open(counting, coded, time.time())
        registered = time.perf_counter() - began
        with CountingAdapter(counting) as counter:
            began, cpu = time.perf_counter(), time.process_time()
            first = lifecycle.poll_once()
            cycle, cpu = time.perf_counter() - began, time.process_time() - cpu
            calls, upstream = counter.calls, counter.seconds
            began = time.perf_counter()
            lifecycle.poll_once()
            quiet = time.perf_counter() - began
        forget_open(counting)
    return LargeFigures(count, coded, cycle, cpu, first, quiet, calls, registered, upstream)


def main(argv: list[str] | None = None) -> int:
    """python -m loadtests.poll_cycle --large: large_cycle() on DATABASE_URL (not reset)."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description="A poll cycle over every open activation of the large database")
    parser.add_argument("--coded", type=int, default=1000, help="codes due this cycle")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name the large PostgreSQL database (loadtests/seed_large.py)")
    from smsbulk import create_app

    app = create_app({"SIMULATOR_SMS_DELAY_SECONDS": 0})
    with app.app_context():
        interval = float(app.config["POLL_INTERVAL_SECONDS"])
        for _ in range(args.rounds):
            f = large_cycle(args.coded)
            print(
                f"poll_once over {f.open_activations:,} open activations, {f.coded:,} codes due: "
                f"{f.cycle_seconds:.2f} s, {f.cycle_cpu:.2f} s CPU here, of which the simulator answering "
                f"{f.upstream_seconds:.2f} s "
                f"({f.cycle_counts.get('messages', 0):,} codes recorded, "
                f"{100 * f.cycle_seconds / interval:.0f} % of the {interval:g} s interval); "
                f"nothing new: {f.quiet_seconds:.2f} s; {f.upstream_calls} upstream call(s); "
                f"simulator told in {f.register_seconds:.1f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
