"""What an operator or a load balancer asks of a process: /healthz, /readyz and /metrics.

- /healthz: the process answers (nothing else is checked: a restart would not fix a database).
- /readyz: the database answers and its migrations are current, and Redis answers; 200, else
  503 with what is wrong. Each check has a short timeout of its own, so a dead dependency
  shows within seconds, and the answer comes back to 200 when it returns.
- /metrics: Prometheus text, every process of this host added up (smsbulk.metrics), plus queue
  depths and open circuits read from Redis now. Only with `Authorization: Bearer METRICS_TOKEN`;
  without a token set it is off.

The web also refuses to start without a database it can use (require_database, from wsgi.py).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from playhouse.migrations import Runner
from prometheus_client.core import GaugeMetricFamily

from . import metrics
from .extensions import db, get_redis

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
_lock = threading.Lock()
_probe_clients: dict[tuple, redis.Redis] = {}
_migrated: set[str] = set()  # databases seen with every migration applied (they never go back)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    problems = readiness_problems()
    if problems:
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ok")


@bp.route("/metrics")
def metrics_view():
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        return jsonify(error="metrics_disabled", message="Set METRICS_TOKEN to serve /metrics"), 404
    given = request.headers.get("Authorization", "")[7:].strip().encode()
    if not hmac.compare_digest(given, token.encode()):
        return jsonify(error="invalid_metrics_token", message="Send Authorization: Bearer METRICS_TOKEN"), 401
    body = metrics.exposition(LiveFigures(current_app._get_current_object()))
    return Response(body, mimetype="text/plain; version=0.0.4")


def readiness_problems() -> dict[str, str]:
    problems = {}
    for name, check in (("database", _database_problem), ("redis", _redis_problem)):
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - whatever the failure, it is the answer
            problem = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        if problem:
            problems[name] = problem
    return problems


def _database_problem() -> str | None:
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :].split("?", 1)[0]):
        return "the SQLite file does not exist"
    try:
        with db.connection_context():
            db.execute_sql("SELECT 1")
            if url not in _migrated:
                pending = [m.name for m in Runner(db.obj, _migrations_folder()).status() if not m.applied]
                if pending:
                    return f"migrations not applied: {', '.join(pending)} (run `flask --app wsgi db-upgrade`)"
                _migrated.add(url)
    except Exception:
        _discard_connection()
        raise
    return None


def _discard_connection() -> None:
    """A failed connection must not go back to the pool: the next check gets a fresh one."""
    try:
        if not db.is_closed():
            db.manual_close()
    except Exception:  # noqa: BLE001 - it is broken already
        log.debug("closing a broken database connection failed", exc_info=True)


def _migrations_folder() -> str:
    from .cli import MIGRATIONS

    return MIGRATIONS


def _redis_problem() -> None:
    _probe_client().ping()


def _probe_client() -> redis.Redis:
    """A client of the app's Redis with short timeouts: a PING must not wait the 30 s a purchase may."""
    pool = get_redis().connection_pool
    seconds = current_app.config["READINESS_TIMEOUT_SECONDS"]
    key = (id(pool), seconds)
    with _lock:
        client = _probe_clients.get(key)
        if client is None:
            options = {**pool.connection_kwargs, "socket_timeout": seconds, "socket_connect_timeout": seconds}
            probe_pool = redis.ConnectionPool(connection_class=pool.connection_class, max_connections=4, **options)
            client = _probe_clients[key] = redis.Redis(connection_pool=probe_pool)
        return client


class LiveFigures:
    """Scrape-time figures from Redis and the database: jobs per queue and state, open circuits."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

        from .models import Provider
        from .queues import QueueNames, get_queue
        from .services import health, purchase_job

        jobs = GaugeMetricFamily("smsbulk_queue_jobs", "RQ jobs by queue and state", labels=["queue", "state"])
        for name in QueueNames.all():
            queue = get_queue(name)
            jobs.add_metric([name, "queued"], queue.count)
            for state, registry in (("started", StartedJobRegistry), ("failed", FailedJobRegistry)):
                jobs.add_metric([name, state], registry(queue=queue).count)
            jobs.add_metric([name, "scheduled"], ScheduledJobRegistry(queue=queue).count)
        yield jobs
        yield GaugeMetricFamily(
            "smsbulk_purchases_batched", "Purchases on the batch list, not yet taken by a job", purchase_job.waiting()
        )
        circuits = GaugeMetricFamily(
            "smsbulk_provider_circuit_open", "1 while a provider's circuit is open", labels=["provider"]
        )
        with db.connection_context():
            providers = list(Provider.select(Provider.id, Provider.name).where(Provider.enabled))
        open_ids = health.breaker().health([p.id for p in providers]).open if providers else set()
        for provider in providers:
            circuits.add_metric([provider.name], 1 if provider.id in open_ids else 0)
        yield circuits


def require_database(app: Flask, on_wait=lambda: None) -> None:
    """Refuse to serve without a usable database: wait up to STARTUP_WAIT_SECONDS for it (a
    release phase may be migrating it right now), then stop with what is wrong. on_wait is
    called every second meanwhile (Gunicorn's heartbeat: a silent worker is killed)."""
    deadline = time.monotonic() + app.config["STARTUP_WAIT_SECONDS"]
    with app.app_context():
        while True:
            try:
                problem = _database_problem()
            except Exception as exc:  # noqa: BLE001
                problem = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            if problem is None:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"SMSBulk cannot start: database: {problem}")
            log.warning("waiting for the database: %s", problem)
            on_wait()
            time.sleep(1)
