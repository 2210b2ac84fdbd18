"""Several hosts: 1 and then 2 "hosts" of one web and one worker process each, against one
PostgreSQL and one Redis, and how throughput grows (or does not) on this machine.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/smsbulk_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python -m loadtests.hosts [--keep-database] [--seconds 15] [--rounds 2]

A host is what one machine of a deployment runs: a Gunicorn web of one process on a port of its
own (WEB_CONCURRENCY=1) and an RQ worker of one process (WORKER_PROCESSES=1), each with its own
metrics folder; they share nothing but the database and Redis, as separate machines would. One
cron runs throughout (a deployment runs one). Load comes from Locust on loopback, one Locust
process per host (its share of the clients), so a client talks to one host as behind a load
balancer. Measured for 1 host, then 2: legacy getStatus (closed loop) and purchases through RQ
(POST answered 201 with a number). Beside each: the CPU the machine spent (all of it, other
tenants included) and what the hosts' own processes, Locust, PostgreSQL and Redis took of it,
which says where the second host's gain goes. Everything stops at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import threading
import time

import psutil

from . import setup_accounts, stack
from .bench import BENCH_ENV, buy_poll_targets
from .measure import Figure, run_locust, warm

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
SCENARIOS = {"status": ("LegacyStatusUser", "legacy getStatus"), "purchases": ("PurchaseUser", "purchases via RQ")}


def start_hosts(running: stack.Stack, count: int) -> list[str]:
    """`count` hosts (web + worker each); their base URLs."""
    commands = stack.procfile()
    urls = []
    for n in range(1, count + 1):
        port = stack.free_port()
        metrics = os.path.join(running.workdir, f"metrics-host{n}")
        os.makedirs(metrics, exist_ok=True)
        web = running.start(
            f"web{n}", commands["web"], port=port, WEB_CONCURRENCY="1", PROMETHEUS_MULTIPROC_DIR=metrics
        )
        running.start(f"worker{n}", commands["worker"], WORKER_PROCESSES="1", PROMETHEUS_MULTIPROC_DIR=metrics)
        url = f"http://{stack.HOST}:{port}"
        stack.wait_http(url + "/healthz", web)
        urls.append(url)
    return urls


def stop_hosts(running: stack.Stack) -> None:
    for name in [n for n in running.processes if n.startswith(("web", "worker"))]:
        running.stop(name)


class CpuWatch:
    """CPU seconds over a run: the machine's, and by kind of process (ours by name, the shared
    PostgreSQL and Redis servers by their process names)."""

    def __init__(self, running: stack.Stack) -> None:
        self.running = running

    def sample(self) -> dict[str, float]:
        machine = psutil.cpu_times()
        found = {"machine": machine.user + machine.system + machine.nice, "postgres": 0.0, "redis": 0.0}
        for process in psutil.process_iter(["name", "cpu_times"]):
            name, times = process.info["name"] or "", process.info["cpu_times"]
            if times is None:
                continue
            for kind in ("postgres", "redis"):
                if name.startswith(kind):
                    found[kind] += times.user + times.system
        for kind in ("web", "worker", "cron"):
            names = tuple(n for n in self.running.processes if n.startswith(kind))
            found[kind] = self.running.cpu_seconds(names)
        return found


def measure(running: stack.Stack, urls: list[str], scenario: str, users: int, seconds: int, out: str, tag: str):
    """One Locust per host, at once, the users shared out; the summed figure and the CPU split."""
    user_class, label = SCENARIOS[scenario]
    figures: list[Figure] = []
    errors: list[BaseException] = []
    data = os.path.join(out, "bench-data.json")

    def drive(n: int, url: str) -> None:
        try:
            share = users // len(urls) + (n < users % len(urls))
            prefix = os.path.join(out, f"{tag}-{scenario}-host{n + 1}")
            figures.append(run_locust(user_class, url, share, seconds, data, prefix, label))
        except BaseException as exc:  # noqa: BLE001 - reported below, after the other host's run
            errors.append(exc)

    watch = CpuWatch(running)
    before, began = watch.sample(), time.perf_counter()
    locust_before = _locust_cpu()
    threads = [threading.Thread(target=drive, args=(n, url)) for n, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    after = watch.sample()
    if errors:
        raise errors[0]
    used = {kind: after[kind] - before[kind] for kind in after}
    used["locust"] = _locust_cpu() - locust_before
    total = Figure(
        label,
        per_second=sum(f.per_second for f in figures),
        p99_ms=max(f.p99_ms for f in figures),
        requests=sum(f.requests for f in figures),
        failures=sum(f.failures for f in figures),
    )
    return total, {kind: seconds_ / elapsed for kind, seconds_ in used.items()}


def _locust_cpu() -> float:
    """CPU of the Locust processes running now and of those that ended (children's times)."""
    me = psutil.Process()
    times = me.cpu_times()
    return times.children_user + times.children_system


def row(hosts: int, scenario: str, figure: Figure, cores: dict[str, float]) -> str:
    split = ", ".join(f"{kind} {cores.get(kind, 0):.2f}" for kind in ("web", "worker", "locust", "postgres", "redis"))
    return (
        f"| {hosts} | {figure.label} | {figure.per_second:,.0f} /s | {figure.p99_ms:.0f} ms "
        f"| {figure.failures} / {figure.requests:,} | {cores['machine']:.2f} of {os.cpu_count()} | {split} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2, help="each measure is the best of this many runs")
    parser.add_argument("--users", type=int, default=32, help="status clients in all")
    parser.add_argument("--purchase-users", type=int, default=16)
    parser.add_argument("--max-hosts", type=int, default=2)
    parser.add_argument("--keep-database", action="store_true", help="keep the rows (the large database)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("give DATABASE_URL (PostgreSQL) and REDIS_URL (a Redis server): several hosts share both")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.join(RESULTS, f"hosts-{stamp}")
    os.makedirs(out, exist_ok=True)
    lines = [
        "| hosts | scenario | throughput | p99 | failures / requests | cores busy (machine) | cores by process |",
        "|---|---|---|---|---|---|---|",
    ]
    with stack.prepared(BENCH_ENV, reset=not args.keep_database) as running:
        from smsbulk import create_app
        from smsbulk.money import to_money

        os.environ.update(running.env)
        app = create_app()
        with app.app_context():
            pairs = setup_accounts.create_accounts(users=48, keys_per_user=1, balance=to_money("1000.00"), quota=10**8)
        keys = [raw for _, raw in pairs]
        running.start("cron", stack.procfile()["cron"])
        for hosts in range(1, args.max_hosts + 1):
            urls = start_hosts(running, hosts)
            targets = buy_poll_targets(urls[0], keys[:16])
            with open(os.path.join(out, "bench-data.json"), "w", encoding="utf-8") as handle:
                json.dump({"polls": targets, "purchase_keys": keys[16:]}, handle)
            time.sleep(3)  # the cron records the targets' codes
            for each in urls:
                warm(
                    f"{each}/stubs/handler_api.php?api_key={targets[0]['key']}&action=getStatus&id={targets[0]['legacy_id']}"
                )
            for scenario, users in (("status", args.users), ("purchases", args.purchase_users)):
                best = None
                for round_no in range(args.rounds):
                    figure, cores = measure(running, urls, scenario, users, args.seconds, out, f"{hosts}h-r{round_no}")
                    if best is None or figure.per_second > best[0].per_second:
                        best = (figure, cores)
                lines.append(row(hosts, scenario, *best))
                print(lines[-1], flush=True)
            stop_hosts(running)
    report = "\n".join(lines)
    print("\n" + report)
    with open(os.path.join(out, "hosts.md"), "w", encoding="utf-8") as handle:
        handle.write(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
