"""Load generators of `make bench`: headless Locust for HTTP, a threaded client for the bare RQ round trip."""

from __future__ import annotations

import csv
import os
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass

from .stack import BIN, ROOT

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Figure:
    """One measured scenario: closed-loop throughput and the 99th percentile of latency."""

    label: str
    per_second: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    failures: int = 0
    unit: str = "req/s"
    note: str = ""
    missing: str = ""  # why the scenario could not run, instead of figures
    cpu_ms: float = 0.0  # server CPU per request or job: steadier than throughput on a busy machine

    def better_than(self, other: Figure | None) -> bool:
        return other is None or (not self.missing and self.per_second > other.per_second)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_locust(user_class: str, host: str, users: int, seconds: int, data_path: str, prefix: str, label: str) -> Figure:
    """A fixed-length headless run with all users started at once; figures from Locust's CSV."""
    command = [
        os.path.join(BIN, "locust"),
        "-f",
        os.path.join(HERE, "bench_locust.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        prefix,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        user_class,
    ]
    env = {**os.environ, "BENCH_DATA": data_path}
    with open(prefix + ".log", "wb") as log:
        subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 60, check=True
        )
    return figure_from_csv(prefix + "_stats.csv", label)


def figure_from_csv(path: str, label: str) -> Figure:
    with open(path, encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    row = rows[0]
    return Figure(
        label,
        per_second=float(row["Requests/s"]),
        p99_ms=float(row["99%"]) if row["99%"] not in ("", "N/A") else 0.0,
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
    )


def warm(url: str, headers: dict[str, str] | None = None, count: int = 200, threads: int = 8) -> None:
    """Enough requests that every Gunicorn worker thread has connected and filled its caches."""

    def client() -> None:
        for _ in range(count // threads):
            request = urllib.request.Request(url, headers=headers or {})
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except OSError:
                pass

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def rq_round_trips(redis_url: str, queue_name: str, clients: int, seconds: int, label: str) -> Figure:
    """Enqueue a no-op job and block on its result, from `clients` threads, like a purchase does."""
    import redis
    from rq import Queue
    from rq.results import Result

    from smsbulk.queues import SERIALIZER

    connection = redis.Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection, serializer=SERIALIZER)
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    tag = uuid.uuid4().hex[:8]  # job ids stay unique across rounds

    def client(n: int) -> None:
        done = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            job = queue.enqueue(
                "loadtests.bench_jobs.noop",
                done,
                job_id=f"bench-{tag}-{n}-{done}",
                unique=True,
                result_ttl=60,
                job_timeout=60,
            )
            result = job.latest_result(timeout=5)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if result is not None and result.type == Result.Type.SUCCESSFUL:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1
            done += 1

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    count = len(latencies) + failures[0]
    return Figure(
        label,
        per_second=len(latencies) / elapsed,
        p99_ms=percentile(latencies, 0.99),
        requests=count,
        failures=failures[0],
        unit="jobs/s",
    )
