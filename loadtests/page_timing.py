"""Page 1 against page 1,000 of an account's history, over HTTP, on the large database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/smsbulk_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python -m loadtests.page_timing [--user 1] [--requests 300] [--page-size 10]

Starts the web (the Procfile's Gunicorn) on the seeded database without resetting it (see
seed_large.py), makes a key for the account (1: the seed's largest, 100,000 activations), and
asks for page 1 and page 1,000 of each history in turn, one request at a time, alternating so
that both see the same machine: activations and ledger by cursor and by page number, the event
log by its `after` cursor. Prints the median and 90th percentile of each, and page 1,000's
median over page 1's (the target: within 20 %).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import time
from urllib.parse import urlencode

from . import stack

LISTS = {
    "activations": ("/api/v1/activations", "activation"),
    "wallet transactions": ("/api/v1/wallet/transactions", "ledger_entry"),
}
EVENTS = 100  # events a page (the events API's default)


def deep_ids(user_id: int, page_size: int, pages: int) -> dict[str, int]:
    """The id a cursor at page `pages` names, for each list (read once, straight from the database)."""
    from smsbulk.extensions import db

    behind = (pages - 1) * page_size - 1
    activation = db.execute_sql(
        "SELECT id FROM activation WHERE user_id = %s ORDER BY id DESC OFFSET %s LIMIT 1", (user_id, behind)
    ).fetchone()[0]
    entry = db.execute_sql(
        "SELECT l.id FROM ledger_entry l WHERE l.wallet_id = (SELECT id FROM wallet WHERE user_id = %s) "
        "ORDER BY l.id DESC OFFSET %s LIMIT 1",
        (user_id, behind),
    ).fetchone()[0]
    event = db.execute_sql(
        "SELECT id FROM event WHERE user_id = %s ORDER BY id OFFSET %s LIMIT 1", (user_id, (pages - 1) * EVENTS - 1)
    ).fetchone()[0]
    return {"activation": activation, "ledger_entry": entry, "event": event}


def timed(connection: http.client.HTTPConnection, path: str, key: str) -> float:
    began = time.perf_counter()
    connection.request("GET", path, headers={"x-api-key": key})
    answer = connection.getresponse()
    answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{path}: {answer.status}")
    return time.perf_counter() - began


def compare(running: stack.Stack, key: str, pairs: dict[str, tuple[str, str]], requests: int) -> list[str]:
    connection = http.client.HTTPConnection(stack.HOST, running.port, timeout=30)
    lines = ["| history | page 1 median (p90) | page 1,000 median (p90) | page 1,000 / page 1 |", "|---|---|---|---|"]
    for name, (first, deep) in pairs.items():
        times: dict[str, list[float]] = {first: [], deep: []}
        for _ in range(20):  # warm: the key cache, the connection, the pages' buffers
            timed(connection, first, key), timed(connection, deep, key)
        for _ in range(requests):
            for path in (first, deep):
                times[path].append(timed(connection, path, key))
        one, thousand = (sorted(times[p]) for p in (first, deep))

        def cell(values: list[float]) -> str:
            return f"{1000 * statistics.median(values):.2f} ms ({1000 * values[int(0.9 * len(values))]:.2f})"

        share = statistics.median(thousand) / statistics.median(one)
        lines.append(f"| {name} | {cell(one)} | {cell(thousand)} | {100 * share:.0f} % |")
        print(lines[-1], flush=True)
    connection.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300, help="requests of each page")
    parser.add_argument("--page-size", type=int, default=10)
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name the large PostgreSQL database (loadtests/seed_large.py)")
    from smsbulk import create_app
    from smsbulk.api.base import encode_cursor
    from smsbulk.extensions import db
    from smsbulk.services import keys

    with stack.prepared({"WEB_CONCURRENCY": "1"}, reset=False) as running:
        app = create_app({"DATABASE_URL": running.env["DATABASE_URL"], "REDIS_URL": running.env["REDIS_URL"]})
        with app.app_context(), db.connection_context():
            ids = deep_ids(args.user, args.page_size, 1000)
            key = keys.create(keys.Actor(args.user), name=f"page-timing-{int(time.time())}", daily_quota=10**8).secret
        web = running.start("web", stack.procfile()["web"])
        stack.wait_http(running.url + "/healthz", web)
        size = args.page_size
        pairs = {}
        for name, (path, table) in LISTS.items():
            cursor = encode_cursor(table.replace("_", ""), ids[table])
            pairs[f"{name} by cursor"] = (
                f"{path}?{urlencode({'cursor': '', 'page_size': size})}",
                f"{path}?{urlencode({'cursor': cursor, 'page_size': size})}",
            )
            pairs[f"{name} by page number"] = (f"{path}?page=1&page_size={size}", f"{path}?page=1000&page_size={size}")
        pairs["events by `after` cursor (page = 100 events)"] = (
            f"/api/v1/events?after=0&limit={EVENTS}",
            f"/api/v1/events?after={ids['event']}&limit={EVENTS}",
        )
        print(f"account {args.user}, {size} rows a page ({args.requests} requests of each page, alternating)")
        compare(running, key, pairs, args.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
