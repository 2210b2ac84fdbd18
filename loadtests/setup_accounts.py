"""Create funded load-test accounts through the app's own services and write their keys to a file.

    DATABASE_URL=... python -m loadtests.setup_accounts --users 100 --keys-per-user 5 \\
        --balance 500.00 --quota 1000000 --out loadtests/results/keys.txt

One key per line; the Locust scenarios read that file (SMSBULK_KEYS_FILE). Each run makes new
users (the emails carry a run tag), so it can be repeated against the same database.
"""

from __future__ import annotations

import argparse
import os
import time
from decimal import Decimal

from smsbulk.money import to_money

DEFAULT_KEYS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "keys.txt")


def create_accounts(users: int, keys_per_user: int, balance: Decimal, quota: int) -> list[tuple[str, str]]:
    """(email, raw key) pairs; needs an app context. Users have no password: keys only."""
    from smsbulk.extensions import db
    from smsbulk.services import accounts, keys

    tag = f"{int(time.time() * 1000):x}"
    created = []
    with db.connection_context():
        for n in range(users):
            user = accounts.create_user(f"bot{n}-{tag}@loadtest.invalid", "", balance)
            for k in range(keys_per_user):
                key = keys.create(keys.Actor(user.id), name=f"bot-{k}", daily_quota=quota)
                created.append((user.email, key.secret))
    return created


def write_keys(path: str, pairs: list[tuple[str, str]]) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{raw}\n" for _, raw in pairs)


def read_keys(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--keys-per-user", type=int, default=5)
    parser.add_argument("--balance", default="500.00", help="opening balance of each user, USD")
    parser.add_argument("--quota", type=int, default=1_000_000, help="daily request quota of each key")
    parser.add_argument("--out", default=DEFAULT_KEYS_FILE)
    args = parser.parse_args(argv)

    from smsbulk import create_app

    with create_app().app_context():
        pairs = create_accounts(args.users, args.keys_per_user, to_money(args.balance), args.quota)
    write_keys(args.out, pairs)
    print(f"{args.users} users, {len(pairs)} keys -> {args.out}")


if __name__ == "__main__":
    main()
