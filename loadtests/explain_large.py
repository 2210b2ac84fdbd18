"""The plans of every hot and periodic query on the large database (loadtests/seed_large.py).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/smsbulk_bench \\
        .venv/bin/python -m loadtests.explain_large [--user 1] [--only poll,history] [--brief]

Builds each query the way its service does (the same Peewee expressions), runs it under
EXPLAIN (ANALYZE, BUFFERS) - reads only, nothing is changed - and prints its plan and time. The
account read is 1, the seed's largest (100,000 activations, about 200,000 ledger rows). Exits 1
if a plan reads one of the big tables with a sequential scan.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from collections.abc import Callable

BIG = ("activation", "sms", "ledger_entry", "event", "rental", "rental_sms", "rental_charge")


def queries(user_id: int) -> dict[str, tuple[str, Callable]]:
    """name -> (group, a function returning the Peewee query)."""
    from smsbulk.models import Activation, Event, LedgerEntry, Rental, Sms, User, Wallet
    from smsbulk.models import activations as st
    from smsbulk.models import rentals as rt
    from smsbulk.models.base import utcnow
    from smsbulk.services import activations, event_feed, lifecycle, rentals, wallets

    now = utcnow()
    deep = Activation.select(Activation.id).where(Activation.user == user_id).order_by(Activation.id.desc())
    cursor_1000 = deep.offset(999 * 10).limit(1).scalar() or 0
    entry_1000 = (
        LedgerEntry.select(LedgerEntry.id)
        .where(LedgerEntry.wallet == Wallet.select(Wallet.id).where(Wallet.user == user_id))
        .order_by(LedgerEntry.id.desc())
        .offset(999 * 10)
        .limit(1)
        .scalar()
        or 0
    )
    events_behind = Event.select(Event.id).where(Event.user == user_id).order_by(Event.id.desc()).offset(300)
    event_cursor = events_behind.limit(1).scalar() or 0
    some_activation = deep.offset(500).limit(1).scalar() or 0
    window = (now - datetime.timedelta(days=30), now)
    old_window = (now - datetime.timedelta(days=150), now - datetime.timedelta(days=120))
    user = User.get_by_id(user_id)
    return {
        # The poll cycle (lifecycle._refs_to_poll) and its per-chunk reads.
        "poll: open activations' refs": ("poll", lifecycle.open_refs),
        "poll: messages seen of 512 activations": (
            "poll",
            lambda: Sms.select(Sms.activation, Sms.provider_message_id).where(
                Sms.activation.in_(list(range(some_activation, some_activation + 512)))
            ),
        ),
        "poll: open rentals' refs": (
            "poll",
            lambda: Rental.select(Rental.id, Rental.provider, Rental.provider_ref).where(
                Rental.status.in_(rt.ACTIVE) & Rental.provider.is_null(False)
            ),
        ),
        # Expiry and the recovery pass (lifecycle.expire_due, recovery.recover, rental_lifecycle).
        "expiry: activations due": (
            "expiry",
            lambda: Activation.select(Activation.id, Activation.user, Activation.status).where(
                Activation.status.in_(st.OPEN) & (Activation.expires_at <= now)
            ),
        ),
        "expiry: rentals due": (
            "expiry",
            lambda: Rental.select(Rental.id, Rental.user).where(Rental.status.in_(rt.ACTIVE) & (Rental.ends_at <= now)),
        ),
        "recovery: pending purchases": (
            "recovery",
            lambda: Activation.select(Activation.id).where(Activation.status == st.PENDING).order_by(Activation.id),
        ),
        "recovery: stale attempts": (
            "recovery",
            lambda: Activation.select(Activation.id).where(
                Activation.attempt_started_at.is_null(False)
                & (Activation.attempt_started_at <= now - datetime.timedelta(seconds=90))
                & (Activation.status != st.PENDING)
            ),
        ),
        "recovery: owed upstream actions": (
            "recovery",
            lambda: Activation.select(Activation.id, Activation.provider_action).where(
                Activation.provider_action.is_null(False)
                & (Activation.updated_at <= now - datetime.timedelta(seconds=120))
            ),
        ),
        "recovery: pending rentals": (
            "recovery",
            lambda: Rental.select(Rental.id).where(Rental.status == rt.PENDING).order_by(Rental.id),
        ),
        # An account's history: REST lists page 1 and page 1,000 (by cursor and by number), legacy.
        "history: activations page 1 (cursor)": (
            "history",
            lambda: activations.list_for_owner(user_id).limit(11),
        ),
        "history: activations page 1,000 (cursor)": (
            "history",
            lambda: activations.list_for_owner(user_id).where(Activation.id < cursor_1000).limit(11),
        ),
        "history: activations page 1,000 (page number, OFFSET)": (
            "history",
            lambda: activations.list_for_owner(user_id).paginate(1000, 10),
        ),
        "history: COMPLETED activations page 1,000 (cursor)": (
            "history",
            lambda: activations.list_for_owner(user_id, "COMPLETED").where(Activation.id < cursor_1000).limit(11),
        ),
        "history: activations counted (page numbers' total)": (
            "history",
            lambda: activations.list_for_owner(user_id).select(Activation.id).order_by(),
        ),
        "history: ledger page 1,000 (cursor)": (
            "history",
            lambda: wallets.transactions(user).where(LedgerEntry.id < entry_1000).limit(11),
        ),
        "history: legacy getHistory, last 30 days": (
            "history",
            lambda: activations.history_query(user_id, *window).limit(50),
        ),
        "history: legacy getHistory, 4 months back": (
            "history",
            lambda: activations.history_query(user_id, *old_window).limit(50),
        ),
        "history: legacy getActiveActivations": (
            "history",
            lambda: (
                activations._with_country()
                .where((Activation.user == user_id) & Activation.status.in_(st.OPEN))
                .order_by(Activation.id)
                .limit(500)
            ),
        ),
        "history: rentals page 1 (cursor)": ("history", lambda: rentals.list_for_owner(user_id).limit(11)),
        # The event log by account, by activation (the events API, waits, webhooks' replay).
        "events: account's after a cursor 300 behind": (
            "events",
            lambda: (
                Event.select(Event.id, Event.type, Event.created_at, Event.payload)
                .where((Event.user == user_id) & (Event.id > event_cursor))
                .order_by(Event.id)
                .limit(event_feed.DEFAULT_PAGE + 1)
            ),
        ),
        "events: account's activation.* after a cursor": (
            "events",
            lambda: (
                Event.select(Event.id)
                .where((Event.user == user_id) & (Event.id > event_cursor) & Event.type.startswith("activation."))
                .order_by(Event.id)
                .limit(event_feed.DEFAULT_PAGE + 1)
            ),
        ),
        "events: one activation's": (
            "events",
            lambda: (
                Event.select(Event.id)
                .where((Event.user == user_id) & (Event.id > 0) & (Event.activation == some_activation))
                .order_by(Event.id)
                .limit(event_feed.DEFAULT_PAGE + 1)
            ),
        ),
        # A status poll on a miss, and the messages it shows.
        "status: one activation by public id": (
            "status",
            lambda: Activation.select().where(
                Activation.public_id == Activation.select(Activation.public_id).where(Activation.id == some_activation)
            ),
        ),
        "status: its messages": (
            "status",
            lambda: Sms.select().where(Sms.activation == some_activation).order_by(Sms.received_at, Sms.id),
        ),
    }


SMALL = 10_000  # rows: a table this small is read whole by design (rentals are not seeded)


def sequential_scans(plan: list[str], rows: dict[str, float]) -> list[str]:
    """The big tables a plan reads whole, unless they hold only a few rows."""
    found = [table for line in plan for table in re.findall(r"Seq Scan on (\w+)", line) if table in BIG]
    return [table for table in found if rows.get(table, 0) >= SMALL]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", type=int, default=1, help="the account whose history is read")
    parser.add_argument("--only", default="", help="groups, e.g. poll,history")
    parser.add_argument("--brief", action="store_true", help="only each query's top plan line and time")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name the large PostgreSQL database (loadtests/seed_large.py)")
    from smsbulk import create_app
    from smsbulk.extensions import db

    wanted = {g for g in args.only.split(",") if g}
    bad = []
    with create_app().app_context(), db.connection_context():
        marks = ", ".join(["%s"] * len(BIG))
        rows = dict(
            db.execute_sql(f"SELECT relname, reltuples FROM pg_class WHERE relname IN ({marks})", BIG).fetchall()
        )
        print("rows (planner's estimate): " + ", ".join(f"{table} {rows.get(table, 0):,.0f}" for table in BIG))
        for name, (group, build) in queries(args.user).items():
            if wanted and group not in wanted:
                continue
            sql, params = build().sql()
            plan = [row[0] for row in db.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()]
            scans = sequential_scans(plan, rows)
            bad += [f"{name}: {table}" for table in scans]
            took = next((line for line in plan if line.startswith("Execution Time")), "")
            print(f"== {name} [{group}] {took}{'  SEQ SCAN: ' + ', '.join(scans) if scans else ''}")
            shown = [line if len(line) < 300 else line[:300] + " ..." for line in plan]  # long IN lists
            print("\n".join(shown[:1] if args.brief else shown) + ("" if args.brief else "\n"))
    print("sequential scans of big tables: " + (", ".join(bad) if bad else "none"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
