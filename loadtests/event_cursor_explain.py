"""The cursor read of the event log on PostgreSQL with a million events: its plan (EXPLAIN ANALYZE).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db with bench or loadtest in its name> \\
        .venv/bin/python -m loadtests.event_cursor_explain [--events 1000000] [--accounts 1000]

Resets the database (like make bench), migrates it, creates the accounts, fills the `event` table
with generate_series (seconds, not minutes), then shows the plan of "account A's events after
cursor N" as services/events.after() builds it.
"""

from __future__ import annotations

import argparse
import os

from . import stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (its name containing bench or loadtest)")
    stack.check_reset_allowed(url, None)
    stack.reset_postgres(url)
    env = {**os.environ, "REDIS_URL": os.environ.get("REDIS_URL", "")}
    stack.migrate({k: v for k, v in env.items() if v})
    from smsbulk import create_app
    from smsbulk.extensions import db
    from smsbulk.models import Event

    app = create_app({"DATABASE_URL": url})
    with app.app_context(), db.connection_context():
        _fill(db, args.accounts, args.events)
        user_id = args.accounts // 2
        # A client 300 events behind: the page is the next 100 of them.
        cursor = db.execute_sql(
            "SELECT id FROM event WHERE user_id = %s ORDER BY id DESC OFFSET 300 LIMIT 1", (user_id,)
        ).fetchone()[0]
        query = Event.select().where((Event.user == user_id) & (Event.id > cursor)).order_by(Event.id).limit(100)
        sql, params = query.sql()
        print(f"{args.events:,} events over {args.accounts:,} accounts; the read:\n  {sql % tuple(params)}\n")
        for (line,) in db.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall():
            print(line)


def _fill(db, accounts: int, events: int) -> None:
    db.execute_sql(
        'INSERT INTO "user" (id, created_at, email, password_hash, role) '
        "SELECT n, now(), 'explain' || n || '@example.com', '', 'user' FROM generate_series(1, %s) AS n",
        (accounts,),
    )
    db.execute_sql(
        "INSERT INTO wallet (created_at, user_id, balance, currency) SELECT now(), id, 0, 'USD' FROM \"user\""
    )
    db.execute_sql(
        "INSERT INTO event (created_at, user_id, activation_id, type, payload) "
        "SELECT now(), 1 + n %% %s, NULL, 'ledger.entry', '{\"amount\": \"1.00\"}' FROM generate_series(1, %s) AS n",
        (accounts, events),
    )
    db.execute_sql("ANALYZE event")


if __name__ == "__main__":
    main()
