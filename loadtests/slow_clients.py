"""Slow and idle clients against the web: does a normal status poll still answer at once?

    .venv/bin/python -m loadtests.slow_clients [--serving gthread,gevent] [--slow 200] [--idle 2000] [--seconds 20]

Starts a throwaway stack (stack.py: SQLite + embedded Redis unless DATABASE_URL / REDIS_URL are
given), buys one activation, then for each serving model (WEB_WORKER_CLASS) restarts the web and
keeps open, for the whole measurement:

- `--slow` sockets that send a request line and then one header byte a second, never finishing
  the headers (slowloris), each reopened as soon as the server drops it;
- `--idle` kept-alive sockets, each of which sends one request, reads the answer and stays open
  and silent, reopened when the server closes it (after its keep-alive time).

Meanwhile a separate probe process polls legacy getStatus on its own kept-alive connection every
20 ms for `--seconds` and reports the latency's median, p99 and maximum, and its failures (no
answer within 10 s). The table also gives how many hostile sockets were open on average while the
probe ran, and the web processes' memory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

from . import setup_accounts, stack
from .checks import http as http_call
from .measure import percentile

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
PROBE_EVERY = 0.02


class Holders:
    """Keeps `slow` slowloris and `idle` kept-alive sockets open against host:port until stopped."""

    def __init__(self, port: int, slow: int, idle: int) -> None:
        self.port, self.slow, self.idle = port, slow, idle
        self.open = {"slow": 0, "idle": 0}
        self.samples: list[tuple[int, int]] = []
        self.reopened = {"slow": 0, "idle": 0}
        self.stopping = False

    async def run(self, ready: asyncio.Event) -> None:
        tasks = []
        for n in range(self.slow + self.idle):
            kind = "slow" if n < self.slow else "idle"
            tasks.append(asyncio.create_task(self.hold(kind)))
            if n % 100 == 99:
                await asyncio.sleep(0.05)  # a ramp, not a SYN flood
        ready.set()
        while not self.stopping:
            self.samples.append((self.open["slow"], self.open["idle"]))
            await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def hold(self, kind: str) -> None:
        while not self.stopping:
            try:
                reader, writer = await asyncio.open_connection(stack.HOST, self.port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            self.open[kind] += 1
            try:
                await (self.trickle(reader, writer) if kind == "slow" else self.linger(reader, writer))
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                self.open[kind] -= 1
                self.reopened[kind] += 1
                writer.close()

    async def trickle(self, reader, writer) -> None:
        """A request line and headers that never end: one byte a second until the server gives up."""
        writer.write(b"GET /stubs/handler_api.php?action=getBalance HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        await writer.drain()
        while not self.stopping:
            try:
                if await asyncio.wait_for(reader.read(1024), 1.0) is not None:
                    return  # closed (or answered): reopen
            except TimeoutError:
                writer.write(b"a")
                await writer.drain()

    async def linger(self, reader, writer) -> None:
        """One request answered, then silence on an open connection until the server closes it."""
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        await reader.readexactly(length)
        while not self.stopping:
            if await reader.read(1024) == b"":
                return


def probe(port: int, path: str, seconds: float) -> dict:
    """Polls one URL on a kept-alive connection; latencies in ms, failures counted (run in a child)."""
    latencies, failures, deadline = [], 0, time.monotonic() + seconds
    connection = http.client.HTTPConnection(stack.HOST, port, timeout=10)
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            answer = connection.getresponse()
            body = answer.read()
            if answer.status != 200 or not body.startswith(b"STATUS_"):
                failures += 1
            else:
                latencies.append(1000 * (time.perf_counter() - started))
        except (OSError, http.client.HTTPException):
            failures += 1
            connection.close()
            connection = http.client.HTTPConnection(stack.HOST, port, timeout=10)
        time.sleep(PROBE_EVERY)
    return {"latencies": latencies, "failures": failures}


def measure(port: int, path: str, args: argparse.Namespace) -> dict:
    holders = Holders(port, args.slow, args.idle)

    async def main() -> dict:
        ready = asyncio.Event()
        holding = asyncio.create_task(holders.run(ready))
        await ready.wait()
        await asyncio.sleep(args.settle)  # every hostile socket open before the probe starts
        command = [sys.executable, "-m", "loadtests.slow_clients", "--probe", str(port), path, str(args.seconds)]
        child = await asyncio.create_subprocess_exec(*command, cwd=stack.ROOT, stdout=subprocess.PIPE)
        output, _ = await child.communicate()
        holders.stopping = True
        await holding
        return json.loads(output)

    result = asyncio.run(main())
    while_probing = holders.samples[int(args.settle * 2) :] or holders.samples
    result["slow_open"] = statistics.mean(s for s, _ in while_probing)
    result["idle_open"] = statistics.mean(i for _, i in while_probing)
    result["reopened"] = dict(holders.reopened)
    return result


def run_model(running: stack.Stack, model: str, path: str, args: argparse.Namespace) -> dict:
    running.stop("web")
    web = running.start("web", stack.procfile()["web"], WEB_WORKER_CLASS=model)
    stack.wait_http(running.url + "/healthz", web)
    print(
        f"{model}: {args.slow} slow-header and {args.idle} idle kept-alive sockets, probe for {args.seconds} s",
        flush=True,
    )
    result = measure(running.port, path, args)
    from .checks import web_rss_mb

    result["rss"] = web_rss_mb(running)
    return result


def row(model: str, result: dict) -> str:
    latencies = result["latencies"]
    if latencies:
        figures = (
            f"{statistics.median(latencies):.1f} ms | {percentile(latencies, 0.99):.1f} ms | {max(latencies):.0f} ms"
        )
    else:
        figures = "- | - | -"
    rss = ", ".join(f"{mb:.0f}" for mb in result["rss"])
    return (
        f"| {model} | {result['slow_open']:.0f} | {result['idle_open']:.0f} | {len(latencies):,} | {figures} "
        f"| {result['failures']} | {rss} MB |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="slow and idle clients against the web")
    parser.add_argument("--serving", default="gthread,gevent", help="WEB_WORKER_CLASS values, in order")
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--settle", type=float, default=3, help="seconds between opening the sockets and probing")
    args = parser.parse_args(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = {}
    with stack.prepared() as running:
        from smsbulk import create_app
        from smsbulk.money import to_money

        os.environ.update(running.env)
        with create_app().app_context():
            ((_, key),) = setup_accounts.create_accounts(
                users=1, keys_per_user=1, balance=to_money("10.00"), quota=10**8
            )
        stack.start_service(running)  # after the account: nothing else writes to the database yet
        status, body = http_call(
            running.url + "/api/v1/activations", "POST", {"serviceCode": "wa", "countryIso": "TR"}, {"x-api-key": key}
        )
        assert status in (201, 202), body
        path = f"/stubs/handler_api.php?api_key={key}&action=getStatus&id={json.loads(body)['legacyId']}"
        for model in args.serving.split(","):
            results[model] = run_model(running, model, path, args)
    lines = [
        f"SMSBulk slow clients, {stamp}: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        "",
        "| serving | slow sockets open | idle sockets open | polls | median | p99 | max | failures | web RSS |",
        "|---|---|---|---|---|---|---|---|---|",
        *(row(model, result) for model, result in results.items()),
    ]
    report = "\n".join(lines)
    print("\n" + report)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"slow-clients-{stamp}.md"), "w", encoding="utf-8") as handle:
        handle.write(report + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        print(json.dumps(probe(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))))
    else:
        raise SystemExit(main())
