"""A large PostgreSQL database in production shape, filled in minutes with COPY.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/smsbulk_bench \\
        .venv/bin/python -m loadtests.seed_large [--activations 1000000] [--active 100000] \\
        [--ledger 2000000] [--events 5000000] [--users 10000] [--seed 17]

Resets the database (its name must contain bench, loadtest or fuzz, as for make bench), migrates
it, and writes months of history as the service itself would have left it:

- accounts with a wallet each; account 1 (whale@seed.invalid) holds a tenth of everything, so
  one account's history runs to 100,000 activations (the pagination measure reads it);
- activations over 180 days, oldest first: completed (with their SMS), cancelled and expired
  (refunded); the newest `--active` are WAITING or RECEIVED, bought in the last half hour, their
  lifetime set 30 days ahead so that a bench's expiry pass leaves them active;
- the ledger: a purchase per activation, a refund per refunded one, deposits before a purchase
  the balance cannot pay (and more spread over the months, up to `--ledger` rows); each row's
  balance_after is its wallet's running sum, and every wallet's balance is the sum of its rows;
- the event log, in id order per account as the service appends it: activation.created,
  ledger.entry, activation.number_assigned, activation.sms_received, the final state,
  activation.refunded; payloads as the REST API shows the subject. The oldest events are left
  out (as if pruned) so that the log holds exactly `--events` rows; every event names a real
  activation.

The rows are generated in one pass into tab-separated files (a fixed seed: the same database
every time), loaded with COPY while the big tables' secondary indexes are dropped and foreign
keys not checked (session_replication_role = replica), then the indexes are built again and the
tables vacuumed and analysed. Each phase is timed. Finally the ledger and the references are checked in SQL.
"""

from __future__ import annotations

import argparse
import array
import datetime
import json
import os
import random
import shutil
import tempfile
import time

from . import stack

SERVICES = ("wa", "tg", "go", "ig", "fb", "vk", "tw", "ds", "oi", "am")
COUNTRIES = {0: "RU", 6: "ID", 16: "GB", 22: "IN", 62: "TR", 187: "US"}
DAY = 86_400.0
HISTORY_DAYS = 180
LIFETIME_AHEAD = 30 * DAY
FORCED_DEPOSIT = 1_000  # cents: what an account pays in when its balance cannot pay a purchase
EXTRA_DEPOSIT = 500  # cents: the other deposits
WHALE_SHARE = 0.10
BIG_TABLES = ("activation", "sms", "ledger_entry", "event")
# Upstream refs as the simulator makes them (digits), far above the ones it sells in a bench:
# the simulator draws a number's codes from its ref's place in the sequence, cheaply.
REF_BASE = 10**12

# Status codes of the plan.
COMPLETED, CANCELED, EXPIRED, WAITING, RECEIVED = range(5)
NAMES = ("COMPLETED", "CANCELED", "EXPIRED", "WAITING", "RECEIVED")
FINAL_EVENT = {COMPLETED: "activation.completed", CANCELED: "activation.canceled", EXPIRED: "activation.expired"}
REFUNDED = (CANCELED, EXPIRED)
CODED = (COMPLETED, RECEIVED)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activations", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=100_000)
    parser.add_argument("--ledger", type=int, default=2_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep-files", action="store_true", help="keep the generated TSV files")
    return parser.parse_args(argv)


class Plan:
    """Who bought what, when, and how it ended: small arrays, generated from the seed."""

    def __init__(self, args: argparse.Namespace, prices: dict[tuple[str, int], int], now: float) -> None:
        rng = random.Random(args.seed)
        total, active = args.activations, args.active
        self.now = now
        self.count = total
        self.users = array.array("i", bytes(4 * total))
        self.prices = array.array("i", bytes(4 * total))
        self.status = bytearray(total)
        self.service = bytearray(total)
        self.country = array.array("i", bytes(4 * total))
        self.times = array.array("d", bytes(8 * total))
        combos = sorted(prices)
        start, end_old = now - HISTORY_DAYS * DAY, now - 2 * 3600
        old = total - active
        for n in range(total):
            self.users[n] = 1 if rng.random() < WHALE_SHARE else rng.randint(2, args.users)
            service, country = combos[rng.randrange(len(combos))]
            self.service[n] = SERVICES.index(service)
            self.country[n] = country
            self.prices[n] = prices[service, country]
            if n < old:
                roll = rng.random()
                self.status[n] = COMPLETED if roll < 0.56 else CANCELED if roll < 0.72 else EXPIRED
                self.times[n] = start + (end_old - start) * n / max(old, 1)
            else:
                self.status[n] = RECEIVED if rng.random() < 0.3 else WAITING
                self.times[n] = now - 1800 + 1800 * (n - old) / max(active, 1)
        self.extra = bytearray(total)  # 1: an extra deposit just before this purchase
        self.forced = self._forced_deposits()
        refunds = sum(1 for s in self.status if s in REFUNDED)
        wanted = args.ledger - total - refunds - sum(self.forced)
        if wanted < 0:
            raise SystemExit(f"--ledger {args.ledger:,} is too small: {total + refunds + sum(self.forced):,} needed")
        for n in rng.sample(range(total), min(wanted, total)):
            self.extra[n] = 1
        self.ledger_rows = total + refunds + sum(self.forced) + sum(self.extra)
        self.event_rows = sum(self.events_of(n) for n in range(total))

    def _forced_deposits(self) -> bytearray:
        """1 where the account's balance (without the extra deposits) cannot pay the purchase."""
        forced, core = bytearray(self.count), {}
        for n in range(self.count):
            user, price = self.users[n], self.prices[n]
            balance = core.get(user, 0)
            if balance < price:
                forced[n] = 1
                balance += FORCED_DEPOSIT * (1 + price // FORCED_DEPOSIT)
            balance -= price
            if self.status[n] in REFUNDED:
                balance += price
            core[user] = balance
        return forced

    def deposit_of(self, n: int) -> int:
        return FORCED_DEPOSIT * (1 + self.prices[n] // FORCED_DEPOSIT)

    def events_of(self, n: int) -> int:
        """created, purchase entry, number assigned, [code], [final state], [refund entry + refunded], deposits."""
        status = self.status[n]
        return (
            3 + (status in CODED) + (status in FINAL_EVENT) + 2 * (status in REFUNDED) + self.forced[n] + self.extra[n]
        )


def stamp(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def activation_payload(public_id, legacy_id, phone, status, cost, service, country, code, sms, created, expires):
    """What representation.activation() shows, built as text (a schema dump per row would take minutes)."""
    return json.dumps(
        {
            "id": public_id,
            "legacyId": legacy_id,
            "phoneNumber": phone,
            "status": status,
            "userCost": money(cost),
            "serviceCode": service,
            "countryId": country,
            "countryIso": COUNTRIES[country],
            "operator": "any",
            "smsCode": code,
            "sms": sms,
            "createdAt": created,
            "expiresAt": expires,
        },
        separators=(",", ":"),
    )


def entry_payload(entry_id, kind, amount, after, activation_public_id, created):
    """What representation.ledger_entry() shows."""
    return json.dumps(
        {
            "id": entry_id,
            "kind": kind,
            "amount": money(amount),
            "balanceAfter": money(after),
            "activationId": activation_public_id,
            "rentalId": None,
            "memo": "",
            "createdAt": created,
        },
        separators=(",", ":"),
    )


class Writer:
    """The generated rows, one TSV file per table, in COPY's text format."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files = {name: open(os.path.join(folder, f"{name}.tsv"), "w", encoding="utf-8") for name in BIG_TABLES}  # noqa: SIM115
        self.rows = dict.fromkeys(BIG_TABLES, 0)

    def row(self, table: str, *values) -> None:
        self.files[table].write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
        self.rows[table] += 1

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()


def generate(plan: Plan, provider_id: int, skip_events: int, folder: str) -> tuple[Writer, dict[int, int]]:
    """Every row of the four big tables; the wallets' final balances."""
    out = Writer(folder)
    balances: dict[int, int] = {}
    ledger_id = event_id = 0
    skipped = 0
    rng = random.Random(plan.count)

    def event(user, activation_id, kind, payload, moment):
        nonlocal event_id, skipped
        if skipped < skip_events:
            skipped += 1
            return
        event_id += 1
        out.row("event", event_id, stamp(moment), user, activation_id, kind, payload, None)

    def entry(user, kind, amount, activation_id, public_id, moment):
        nonlocal ledger_id
        ledger_id += 1
        balances[user] = balances.get(user, 0) + amount
        after = balances[user]
        out.row("ledger_entry", ledger_id, stamp(moment), user, kind, amount, after, activation_id, "", None)
        event(
            user,
            activation_id,
            "ledger.entry",
            entry_payload(ledger_id, kind, amount, after, public_id, iso(moment)),
            moment,
        )

    for n in range(plan.count):
        legacy_id, user, price, status = n + 1, plan.users[n], plan.prices[n], plan.status[n]
        service, country, bought = SERVICES[plan.service[n]], plan.country[n], plan.times[n]
        public_id = f"act_{rng.getrandbits(96):024x}"
        phone = f"{7 + country % 3}9{rng.randrange(10**9):09d}"
        code = f"{rng.randrange(10**6):06d}" if status in CODED else None
        active = status in (WAITING, RECEIVED)
        expires = plan.now + LIFETIME_AHEAD if active else bought + 1200
        changed = expires - 1 if status == EXPIRED else bought + rng.uniform(20, 600) if not active else bought + 5
        changed = min(changed, plan.now)
        if plan.extra[n]:
            entry(user, "deposit", EXTRA_DEPOSIT, None, None, bought - 60)
        if plan.forced[n]:
            entry(user, "deposit", plan.deposit_of(n), None, None, bought - 30)
        created, expires_iso = iso(bought), iso(expires)

        shown = (public_id, legacy_id, phone)
        tail = (price, service, country)

        def show(state, code_, sms_, shown=shown, tail=tail, created=created, expires_iso=expires_iso):
            return activation_payload(*shown, state, *tail, code_, sms_, created, expires_iso)

        pending = activation_payload(public_id, legacy_id, None, "PENDING", *tail, None, [], created, expires_iso)
        event(user, legacy_id, "activation.created", pending, bought)
        entry(user, "purchase", -price, legacy_id, public_id, bought)
        event(user, legacy_id, "activation.number_assigned", show("WAITING", None, []), bought + 1)
        sms = []
        if code is not None:
            text = f"Your {service.upper()} verification code is {code}. Do not share it."
            received = bought + 3
            out.row("sms", stamp(received), legacy_id, f"{REF_BASE + legacy_id}-0", text, code, stamp(received))
            sms = [{"text": text, "code": code, "receivedAt": iso(received)}]
            event(user, legacy_id, "activation.sms_received", show("RECEIVED", code, sms), received)
        if status in FINAL_EVENT:
            shown_sms = sms if status == COMPLETED else []
            event(user, legacy_id, FINAL_EVENT[status], show(NAMES[status], code, shown_sms), changed)
        if status in REFUNDED:
            entry(user, "refund", price, legacy_id, public_id, changed)
            event(user, legacy_id, "activation.refunded", show(NAMES[status], None, []), changed)
        out.row(
            "activation",
            legacy_id,
            stamp(bought),
            public_id,
            user,
            None,
            service,
            country,
            "any",
            NAMES[status],
            price,
            None,
            provider_id,
            REF_BASE + legacy_id,
            price * 80,  # the provider's cost, 4 places: the price less the markup
            phone,
            code,
            None,
            None,
            1,
            stamp(changed),
            stamp(expires),
            None,
            None,
            None,
            None,
        )
    out.close()
    return out, balances


COLUMNS = {
    "activation": (
        "id, created_at, public_id, user_id, api_key_id, service_id, country_id, operator, status, user_cost, "
        "max_price, provider_id, provider_ref, provider_cost, phone_number, sms_code, idempotency_key, "
        "attempt_started_at, attempts, updated_at, expires_at, attempt_provider_id, attempt_ref, provider_action, "
        "reactivation_of_id"
    ),
    "sms": "created_at, activation_id, provider_message_id, text, code, received_at",
    "ledger_entry": "id, created_at, wallet_id, kind, amount, balance_after, activation_id, memo, rental_charge_id",
    "event": "id, created_at, user_id, activation_id, type, payload, rental_id",
}


def secondary_indexes(cursor, tables) -> list[str]:
    """The definitions of the tables' indexes other than their primary keys."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexname NOT LIKE '%%_pkey'",
        (list(tables),),
    )
    return [row[0] for row in cursor.fetchall()]


def load(connection, folder: str, balances: dict[int, int], users: int, timings: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers during the load
        cursor.execute("SET maintenance_work_mem = '256MB'")
        began = time.perf_counter()
        cursor.execute(
            'INSERT INTO "user" (id, created_at, email, password_hash, role, session_version) '
            "SELECT n, now() - interval '200 days', CASE WHEN n = 1 THEN 'whale@seed.invalid' "
            "ELSE 'seed' || n || '@seed.invalid' END, '', 'user', 0 FROM generate_series(1, %s) AS n",
            (users,),
        )
        cursor.execute(
            "INSERT INTO wallet (id, created_at, user_id, balance, currency) "
            "SELECT id, created_at, id, 0, 'USD' FROM \"user\""
        )
        cursor.executemany("UPDATE wallet SET balance = %s WHERE id = %s", [(b, u) for u, b in balances.items()])
        definitions = secondary_indexes(cursor, BIG_TABLES)
        for definition in definitions:
            cursor.execute(f"DROP INDEX {definition.split(' INDEX ', 1)[1].split(' ON ', 1)[0]}")
        for table in BIG_TABLES:
            started = time.perf_counter()
            with open(os.path.join(folder, f"{table}.tsv"), encoding="utf-8") as handle:
                cursor.copy_expert(f"COPY {table} ({COLUMNS[table]}) FROM STDIN", handle, size=1 << 20)
            timings[f"COPY {table}"] = time.perf_counter() - started
        started = time.perf_counter()
        for definition in definitions:
            cursor.execute(definition)
        timings["indexes"] = time.perf_counter() - started
        for table in (*BIG_TABLES, "user", "wallet"):
            column = "id"
            cursor.execute(
                f'SELECT setval(pg_get_serial_sequence(\'"{table}"\', %s), (SELECT max(id) FROM "{table}"))', (column,)
            )
        cursor.execute("SET session_replication_role = DEFAULT")
    connection.commit()
    # What autovacuum would have done to months-old tables: the visibility map (index-only scans,
    # a COUNT from the index alone) and the planner's statistics.
    started = time.perf_counter()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.autocommit = False
    timings["vacuum analyze"] = time.perf_counter() - started
    timings["load"] = time.perf_counter() - began


CHECKS = {
    "wallets whose balance is not the sum of their ledger": (
        "SELECT count(*) FROM wallet w LEFT JOIN (SELECT wallet_id, sum(amount) AS total FROM ledger_entry "
        "GROUP BY wallet_id) l ON l.wallet_id = w.id WHERE w.balance <> coalesce(l.total, 0)"
    ),
    "wallets below zero": "SELECT count(*) FROM wallet WHERE balance < 0",
    "wallets whose newest entry's balance_after is not the balance": (
        "SELECT count(*) FROM wallet w JOIN LATERAL (SELECT balance_after FROM ledger_entry l WHERE l.wallet_id = w.id "
        "ORDER BY l.id DESC LIMIT 1) newest ON true WHERE newest.balance_after <> w.balance"
    ),
    "events naming no activation": (
        "SELECT count(*) FROM event e WHERE e.activation_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM activation a WHERE a.id = e.activation_id)"
    ),
    "events of another account than their activation's": (
        "SELECT count(*) FROM event e JOIN activation a ON a.id = e.activation_id WHERE a.user_id <> e.user_id"
    ),
    "ledger rows naming no activation": (
        "SELECT count(*) FROM ledger_entry l WHERE l.activation_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM activation a WHERE a.id = l.activation_id)"
    ),
    "refunded activations without exactly one refund": (
        "SELECT count(*) FROM activation a WHERE a.status IN ('CANCELED', 'EXPIRED') AND (SELECT count(*) "
        "FROM ledger_entry l WHERE l.activation_id = a.id AND l.kind = 'refund') <> 1"
    ),
}


def check(connection) -> dict[str, int]:
    """Each consistency rule's count of violations (all zero, or the seed is wrong)."""
    found = {}
    with connection.cursor() as cursor:
        for name, sql in CHECKS.items():
            cursor.execute(sql)
            found[name] = cursor.fetchone()[0]
    return found


def counts(connection) -> dict[str, int]:
    with connection.cursor() as cursor:
        result = {}
        for table in (*BIG_TABLES, "wallet"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM activation WHERE status IN ('WAITING', 'RECEIVED', 'RETRY')")
        result["active activations"] = cursor.fetchone()[0]
    return result


def connect(url: str):
    import psycopg2

    return psycopg2.connect(url.replace("+pool", "", 1).split("?", 1)[0])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (its name containing bench or loadtest)")
    stack.check_reset_allowed(url, None)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    stack.reset_postgres(url)
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL" or value}
    stack.migrate(env)
    timings["reset + migrate"] = time.perf_counter() - began
    connection = connect(url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM provider WHERE name = 'simulator'")
        provider_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT service_id, country_id, user_price FROM price WHERE provider_id = %s AND operator = 'any' "
            "AND service_id = ANY(%s) AND country_id = ANY(%s)",
            (provider_id, list(SERVICES), list(COUNTRIES)),
        )
        prices = {(service, country): price for service, country, price in cursor.fetchall()}
    started = time.perf_counter()
    plan = Plan(args, prices, time.time())
    skip = max(0, plan.event_rows - args.events)
    timings["plan"] = time.perf_counter() - started
    folder = tempfile.mkdtemp(prefix="smsbulk-seed-")
    try:
        started = time.perf_counter()
        writer, balances = generate(plan, provider_id, skip, folder)
        timings["generate TSV"] = time.perf_counter() - started
        load(connection, folder, balances, args.users, timings)
    finally:
        if not args.keep_files:
            shutil.rmtree(folder, ignore_errors=True)
    timings["total"] = time.perf_counter() - began
    started = time.perf_counter()
    problems = check(connection)
    checked = time.perf_counter() - started
    rows = counts(connection)
    connection.close()
    print("rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    print("seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items()))
    print(f"checks ({checked:.0f} s): " + ", ".join(f"{name}: {count}" for name, count in problems.items()))
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
