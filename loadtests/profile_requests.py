"""What one request of a hot path costs the web process, without HTTP or a load generator.

    .venv/bin/python -m loadtests.profile_requests getStatus --calls 2000            # µs per call
    .venv/bin/python -m loadtests.profile_requests rest --calls 2000 --profile       # + cProfile top 30
    .venv/bin/python -m loadtests.profile_requests purchase-job --calls 1000        # the worker's part
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        .venv/bin/python -m loadtests.profile_requests getStatus --calls 1000 --warm 200

Builds a throwaway stack (stack.py: SQLite + embedded Redis unless DATABASE_URL / REDIS_URL are
given), buys one activation through the services, lets it receive its code, then calls the Flask
app's WSGI entry point directly with the request a bot sends: the same work a Gunicorn worker
does for it, minus Gunicorn's HTTP parsing (which the bare-Flask ceiling pays too).

For instruction counts (deterministic on a busy machine, unlike time): run under callgrind with
two --calls values and divide the difference of the totals by the difference of the calls; the
`instructions` scenario does that itself (`--valgrind`).

purchase-job measures the other side of a purchase: the web enqueues purchases (as purchase-web),
then a worker of `python -m workers` runs them, and the same worker runs as many no-op jobs (the
queue's own cost, the ceiling (e) of `make bench`); both are µs of CPU per job.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import subprocess
import sys
import time

from .stack import BIN, ROOT

SCENARIOS = ("getStatus", "getStatusV2", "rest", "rest304", "bare", "purchase", "purchase-web", "purchase-job")


def _environ(app, scenario: str, key: str, activation) -> dict:
    from werkzeug.test import EnvironBuilder

    if scenario in ("getStatus", "getStatusV2"):
        path, query, headers = "/stubs/handler_api.php", f"api_key={key}&action={scenario}&id={activation.id}", {}
    elif scenario == "bare":
        path, query, headers = "/", "", {}
    else:
        path, query, headers = f"/api/v1/activations/{activation.public_id}", "", {"x-api-key": key}
    # purchase: the job runs inline (RQ_ASYNC off), the web's and the job's work in one call;
    # purchase-web: the web's part only (the job is enqueued, not run, and not waited for);
    # purchase-job: the same, then a worker runs the jobs.
    if scenario.startswith("purchase"):
        body = b'{"serviceCode": "wa", "countryIso": "TR"}'
        builder = EnvironBuilder(
            path="/api/v1/activations",
            method="POST",
            data=body,
            content_type="application/json",
            headers={"x-api-key": key},
            base_url="http://127.0.0.1:8000",
        )
        environ = builder.get_environ()
        builder.close()
        environ["smsbulk.body"] = body
        return environ
    builder = EnvironBuilder(path=path, query_string=query, headers=headers, base_url="http://127.0.0.1:8000")
    environ = builder.get_environ()
    builder.close()
    if scenario == "rest304":
        environ["HTTP_IF_NONE_MATCH"] = _etag(app, environ)
    return environ


def _etag(app, environ: dict) -> str:
    status = {}
    result = app(dict(environ), lambda code, headers: status.update(code=code, headers=dict(headers)))
    b"".join(result)
    return status["headers"]["ETag"]


def _call(app, environ: dict) -> bytes:
    environ = dict(environ)
    if "smsbulk.body" in environ:
        environ["wsgi.input"] = io.BytesIO(environ["smsbulk.body"])
    result = app(environ, _start_response)
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def _start_response(status, headers, exc_info=None):
    if not status.startswith(("200", "201", "202", "304")):
        raise RuntimeError(f"unexpected answer {status}")


def _prepare(app):
    """A funded user, a key and one activation that has received its code."""
    from smsbulk.extensions import db
    from smsbulk.money import to_money
    from smsbulk.services import lifecycle
    from smsbulk.services.catalog import resolve_country, resolve_service

    from .setup_accounts import create_accounts

    with app.test_request_context():
        (_, key), *_ = create_accounts(users=1, keys_per_user=1, balance=to_money("100000.00"), quota=10**9)
        from smsbulk import auth
        from smsbulk.extensions import get_redis
        from smsbulk.services import activations

        with db.connection_context():
            caller = auth.authenticate_request(key, get_redis())
            order = activations.Order(service=resolve_service("wa"), country=resolve_country(0), operator="any")
            activation = activations.buy_now(caller, order)
            for _ in range(20):
                lifecycle.poll_once()
                if activations.shown_for_owner(caller.user_id, activation.id).status == "RECEIVED":
                    break
                time.sleep(0.1)
    return key, activation


def run(scenario: str, calls: int, warm: int, profile: bool) -> float:
    from smsbulk import create_app

    app = create_app({"RQ_ASYNC": scenario == "purchase-web", "PURCHASE_WAIT_SECONDS": 0})
    key, activation = _prepare(app)
    environ = _environ(app, scenario, key, activation)
    if scenario == "bare":
        from .bench_app import app  # the ceiling of `make bench`: a bare Flask app answering a constant
    for _ in range(warm):
        _call(app, environ)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(calls):
        _call(app, environ)
    if profiler:
        profiler.disable()
    spent = time.process_time() - started
    if profiler:
        _print_profile(profiler)
    return 1e6 * spent / max(calls, 1)


def _burst(queue: str, calls: int, profile: bool) -> float:
    """µs of CPU per job for a worker of `python -m workers` that runs the queue's jobs until it is empty."""
    from smsbulk.extensions import get_redis
    from smsbulk.queues import SERIALIZER
    from workers.__main__ import AppWorker

    worker = AppWorker([queue], connection=get_redis(), serializer=SERIALIZER)
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    if profiler:
        profiler.disable()
        _print_profile(profiler)
    return 1e6 * (time.process_time() - started) / max(calls, 1)


def worker_jobs(calls: int, warm: int, profile: bool) -> tuple[float, float]:
    """A purchase job's CPU in the worker, and a no-op job's (the queue's own cost, as in (e) of
    `make bench`), each run by the same worker class, after a warm-up of each."""
    from smsbulk import create_app
    from smsbulk.queues import QueueNames, get_queue

    app = create_app({"RQ_ASYNC": True, "PURCHASE_WAIT_SECONDS": 0})
    key, activation = _prepare(app)
    environ = _environ(app, "purchase-job", key, activation)
    figures = []
    with app.app_context():
        for count in (warm, calls):
            for _ in range(count):
                _call(app, environ)  # the web's part: debit, record, enqueue
            figures.append(_burst(QueueNames.PURCHASES, count, profile and count == calls))
        for count in (warm, calls):
            for n in range(count):
                get_queue(QueueNames.PURCHASES).enqueue("loadtests.bench_jobs.noop", n, result_ttl=60, job_timeout=60)
            figures.append(_burst(QueueNames.PURCHASES, count, False))
    return figures[1], figures[3]


def _print_profile(profiler: cProfile.Profile) -> None:
    for order, count in (("cumulative", 40), ("tottime", 30)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(count)
        print(out.getvalue())


def callgrind_instructions(scenario: str, calls: int, warm: int) -> float:
    """Instructions per call: two runs under callgrind, the difference of totals over the difference of calls."""
    totals = []
    for n in (calls, 2 * calls):
        out = f"/tmp/smsbulk-callgrind-{os.getpid()}-{n}.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            os.path.join(BIN, "python"),
            "-m",
            "loadtests.profile_requests",
            scenario,
            "--calls",
            str(n),
            "--warm",
            str(warm),
        ]
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out, encoding="utf-8") as handle:
            summary = next(line for line in handle if line.startswith(("summary:", "totals:")))
        os.unlink(out)
        totals.append(int(re.findall(r"\d+", summary)[0]))
    return (totals[1] - totals[0]) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--valgrind", action="store_true", help="instructions per call, from two callgrind runs")
    args = parser.parse_args(argv)
    if args.valgrind:
        per_call = callgrind_instructions(args.scenario, args.calls, args.warm)
        print(f"{args.scenario}: {per_call:,.0f} instructions per call (callgrind, {args.calls} vs {2 * args.calls})")
        return 0
    from . import stack
    from .bench import BENCH_ENV

    with stack.prepared(BENCH_ENV) as running:
        os.environ.update(running.env)
        if args.scenario == "purchase-job":
            purchase, noop = worker_jobs(args.calls, args.warm, args.profile)
            print(f"purchase job: {purchase:,.0f} µs CPU per job; no-op job: {noop:,.0f} µs ({args.calls} each)")
            return 0
        per_call = run(args.scenario, args.calls, args.warm, args.profile)
    print(f"{args.scenario}: {per_call:,.0f} µs CPU per call ({args.calls} calls)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
