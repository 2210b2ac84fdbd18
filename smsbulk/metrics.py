"""Prometheus metrics: every metric of the service is declared here.

prometheus-client in multiprocess mode: each process (Gunicorn workers, RQ workers, cron)
writes its figures to files of its own in one folder, and /metrics adds them up. The client
reads where that folder is when it is first imported, so this module sets it first:
PROMETHEUS_MULTIPROC_DIR if given, else one folder per instance (beside an SQLite database, or
under the temporary folder for another database), so two instances on one host never mix
their figures and a web and its workers on one host share theirs. Workers on other hosts can
serve their own (`METRICS_PORT`, workers/__main__.py).

Figures computed from Redis when scraped (queue depth, open circuits) are not stored here:
see operations.collectors().
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from .config import database_url


def folder_for(database_url: str) -> str:
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return os.path.abspath(database_url[len("sqlite:///") :].split("?", 1)[0]) + ".metrics"
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"smsbulk-metrics-{digest}")


def _prepare() -> str:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or folder_for(database_url())
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


FOLDER = _prepare()

from prometheus_client import (  # noqa: E402 - the folder must be known before this import
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "smsbulk_http_requests_total",
    "HTTP requests answered, by route (the legacy endpoint by action), method and status",
    ["route", "action", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "smsbulk_http_request_duration_seconds",
    "Time to answer a request, by route and legacy action",
    ["route", "action"],
    buckets=LATENCY_BUCKETS,
)
PURCHASES = Counter("smsbulk_purchases_total", "Purchase jobs by outcome (bought, failed, ...)", ["outcome"])
PROVIDER_CALLS = Counter(
    "smsbulk_provider_calls_total",
    "Calls to upstream providers, by provider and result (ok, or the error's kind)",
    ["provider", "result"],
)
JOB_SECONDS = Histogram(
    "smsbulk_job_duration_seconds", "RQ jobs by name and outcome", ["job", "outcome"], buckets=LATENCY_BUCKETS
)
RECOVERY_ACTIONS = Counter(
    "smsbulk_recovery_actions_total",
    "What the periodic jobs did (activations expired, purchases re-driven or refunded, ...)",
    ["job", "action"],
)


def observe_request(route: str, action: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, action, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, action).observe(seconds)


def observe_job(job: str, outcome: str, seconds: float, result: object = None) -> None:
    """A finished job: its duration; a purchase's outcome; a periodic job's counts of what it did."""
    JOB_SECONDS.labels(job, outcome).observe(seconds)
    if job == "purchase" and isinstance(result, str | dict):
        PURCHASES.labels(result if isinstance(result, str) else str(result.get("status", "done")).lower()).inc()
    elif isinstance(result, dict):
        for action, count in result.items():
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                RECOVERY_ACTIONS.labels(job, action).inc(count)


def count_provider_call(provider: str, error: BaseException | None) -> None:
    PROVIDER_CALLS.labels(provider, "ok" if error is None else type(error).__name__).inc()


def exposition(*collectors) -> bytes:
    """Every process's figures added up, with the given scrape-time collectors, in the text format."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=FOLDER)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def serve(port: int, host: str) -> None:
    """This host's figures over HTTP from a thread of this process (a worker host without a web)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=FOLDER)
    start_http_server(port, addr=host, registry=registry)
