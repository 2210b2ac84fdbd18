"""Bench (g): long-poll waiters woken by SMS commits. Bench (h): webhook deliveries per second.

(g) WAITERS bots, each in a loop of `wait=25` calls on an activation waiting for its code (half
legacy getStatus&wait=25, half REST ?wait=25), all held open at once against the running stack
by one asyncio client. Meanwhile this process records codes for some of those activations the
way the poller does (lifecycle.record_messages: the real commit, and its post-commit wake-up
through Redis), and times each wake-up from the commit to the moment its bot has the answer. A
bot whose code came moves on to a fresh activation, so the waiters stay at WAITERS. While the
waits are held, bench (b) and (c) run again (the caller's `measure_during`).

(h) lives in bench_webhooks.py.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Activation
from smsbulk.models import activations as st
from smsbulk.models.base import utcnow
from smsbulk.providers import base as pb
from smsbulk.services import events, lifecycle
from smsbulk.services.activations import new_public_id

from . import setup_accounts
from .measure import percentile

WAIT = 25
ACCOUNTS = 100
WAKEUP_P99_MS = 250.0


async def exchange(reader, writer, request: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection: the status and the body."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed by the server")
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(status_line.split()[1]), await reader.readexactly(length)


@dataclass
class WaitFigures:
    waiters: int
    wakeups: list[float] = field(default_factory=list)  # ms from the SMS commit to the bot's answer
    quiet: list[float] = field(default_factory=list)  # the same, while nothing else loads the web
    answers: int = 0
    errors: int = 0
    missed: int = 0  # codes committed whose bot had no answer by the end
    during: dict = field(default_factory=dict)  # bench key -> Figure measured while the waits were held
    rss: list[float] = field(default_factory=list)  # MB per web worker after the waits

    @property
    def p50(self) -> float:
        return percentile(self.quiet, 0.5)

    @property
    def p99(self) -> float:
        return percentile(self.quiet, 0.99)


@dataclass
class Board:
    """Who waits on what, shared by the bots (asyncio thread) and the injector (this thread)."""

    keys: dict[int, str]  # activation id -> its owner's API key
    public: dict[int, str]  # activation id -> act_...
    spare: list[int]
    watched: dict[int, int] = field(default_factory=dict)  # bot -> activation it waits on
    committed: dict[int, float] = field(default_factory=dict)  # activation -> monotonic time of its code's commit
    lock: threading.Lock = field(default_factory=threading.Lock)

    def activation_of(self, bot: int) -> int:
        with self.lock:
            if bot not in self.watched:
                self.watched[bot] = self.spare.pop()
            return self.watched[bot]

    def answered(self, bot: int, activation_id: int, at: float) -> float | None:
        """The bot has its code: ms since the commit (None if not one of ours), and a new activation."""
        with self.lock:
            self.watched.pop(bot, None)
            committed = self.committed.pop(activation_id, None)
        return None if committed is None else (at - committed) * 1000

    def request(self, bot: int, activation_id: int) -> bytes:
        key = self.keys[activation_id]
        if bot % 2:
            path, extra = f"/stubs/handler_api.php?api_key={key}&action=getStatus&id={activation_id}&wait={WAIT}", ""
        else:
            path, extra = f"/api/v1/activations/{self.public[activation_id]}?wait={WAIT}", f"x-api-key: {key}\r\n"
        return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()


def create_board(count: int) -> Board:
    """`count` WAITING activations spread over ACCOUNTS accounts, with no provider: the poller
    leaves them alone, and only this bench records their codes."""
    pairs = setup_accounts.create_accounts(ACCOUNTS, 1, Decimal("0"), 10**8)
    expires = utcnow() + datetime.timedelta(hours=1)
    with db.connection_context():
        users = [auth_user(raw) for _, raw in pairs]
        rows = [
            {
                "public_id": new_public_id(),
                "user": users[n % ACCOUNTS],
                "service": "wa",
                "country": 62,
                "status": st.WAITING,
                "user_cost": Decimal("0.10"),
                "phone_number": f"90555{n:07d}",
                "expires_at": expires,
            }
            for n in range(count)
        ]
        with db.atomic():
            for start in range(0, len(rows), 500):
                Activation.insert_many(rows[start : start + 500]).execute()
        made = list(
            Activation.select(Activation.id, Activation.user, Activation.public_id).where(Activation.user.in_(users))
        )
    key_of = {user: raw for user, (_, raw) in zip(users, pairs, strict=True)}
    return Board({a.id: key_of[a.user_id] for a in made}, {a.id: a.public_id for a in made}, sorted(a.id for a in made))


def auth_user(raw_key: str) -> int:
    from smsbulk import auth
    from smsbulk.models import ApiKey

    return ApiKey.get(ApiKey.key_hash == auth.hash_key(raw_key)).user_id


async def bot(number: int, address: tuple[str, int], board: Board, figures: WaitFigures, stop: asyncio.Event):
    reader = writer = None
    while not stop.is_set():
        activation_id = board.activation_of(number)
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(*address)
            status, body = await exchange(reader, writer, board.request(number, activation_id))
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            figures.errors += 1
            writer = None
            await asyncio.sleep(0.5)
            continue
        figures.answers += 1
        if status not in (200, 304):
            figures.errors += 1
        elif b"STATUS_OK" in body or b'"RECEIVED"' in body:
            took = board.answered(number, activation_id, time.monotonic())
            if took is not None:
                figures.wakeups.append(took)
    if writer is not None:
        writer.close()


def run_bots(address, board: Board, figures: WaitFigures, started: threading.Event, finish: threading.Event) -> None:
    async def main():
        stop = asyncio.Event()
        tasks = [asyncio.create_task(bot(n, address, board, figures, stop)) for n in range(figures.waiters)]
        started.set()
        while not finish.is_set():
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait(tasks, timeout=WAIT + 10)
        for task in tasks:
            task.cancel()

    asyncio.run(main())


class Injector:
    """Records a code for a waited-on activation `rate` times a second, in a thread, noting when
    each commits (a post-commit listener placed ahead of every other)."""

    def __init__(self, app, board: Board, rate: float) -> None:
        self.app, self.board, self.rate = app, board, rate
        self.current: int | None = None
        self.running = True
        self.sent = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __call__(self, committed, touched) -> None:  # the listener
        if self.current is not None and any(event.activation_id == self.current for event in committed):
            with self.board.lock:
                self.board.committed[self.current] = time.monotonic()

    def run(self) -> None:
        with self.app.app_context():
            while self.running:
                with self.board.lock:
                    open_ = [a for a in self.board.watched.values() if a not in self.board.committed]
                if open_:
                    self.current = random.choice(open_)
                    code = pb.Message(f"bench-{self.current}", "Your code is 424242", "424242", utcnow())
                    with db.connection_context():
                        lifecycle.record_messages(self.current, [code])
                    self.current, self.sent = None, self.sent + 1
                time.sleep(1 / self.rate)

    def __enter__(self):
        events._listeners.insert(0, self)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join(10)
        events._listeners.remove(self)


def waiters(
    app, address: tuple[str, int], count: int, rate: float, measure_during, quiet_seconds: float = 15.0
) -> WaitFigures:
    """Scenario (g): `count` bots waiting while codes come `rate` times a second: first with
    nothing else on the web (`quiet`), then while `measure_during()` runs (b) and (c) (`wakeups`)."""
    board = create_board(count + int(rate * 600))
    figures = WaitFigures(waiters=count)
    started, finish = threading.Event(), threading.Event()
    client = threading.Thread(target=run_bots, args=(address, board, figures, started, finish), daemon=True)
    client.start()
    try:
        started.wait(30)
        time.sleep(5)  # every bot connected and waiting
        with Injector(app, board, rate):
            time.sleep(quiet_seconds)
        time.sleep(2)  # the last wake-ups arrive
        figures.quiet, figures.wakeups = figures.wakeups, []
        with Injector(app, board, rate):
            figures.during = measure_during()
        time.sleep(2)
    finally:
        finish.set()
        client.join(WAIT + 20)
    figures.missed = len(board.committed)
    return figures


# Both scenarios in `make bench`: run after the rounds, reported below the tables.


@dataclass
class PushFigures:
    waits: WaitFigures | None = None
    deliveries: object | None = None  # bench_webhooks.DeliveryFigures
    best: dict = field(default_factory=dict)  # the gevent rounds' best figures, to compare (g)'s with


def run(app, running, args, out: str, best: dict) -> PushFigures:
    """(g) under the gevent web (a wait holds no thread there), then (h)."""
    from . import bench_webhooks, stack
    from .checks import web_rss_mb
    from .measure import run_locust

    found = PushFigures(best=best)
    if "g" in args.only:
        running.stop("web")
        web = running.start("web", stack.procfile()["web"], WEB_WORKER_CLASS="gevent")
        stack.wait_http(running.url + "/healthz", web)
        data = os.path.join(out, "bench-data.json")

        def status_while_waiting() -> dict:
            during = {}
            for key, user_class, label in (
                ("b", "LegacyStatusUser", "legacy getStatus"),
                ("c", "RestStatusUser", "REST GET activation"),
            ):
                prefix = os.path.join(out, f"g{key}-{user_class}")
                during[key] = run_locust(user_class, running.url, args.users, args.seconds, data, prefix, label)
                print(f"  (g) {label} meanwhile: {during[key].per_second:,.0f} req/s, p99 {during[key].p99_ms:.0f} ms")
            return during

        print(f"(g) {args.waiters:,} waiters, codes {args.wake_rate:g}/s ...", flush=True)
        found.waits = waiters(app, (stack.HOST, running.port), args.waiters, args.wake_rate, status_while_waiting)
        found.waits.rss = web_rss_mb(running)
    if "h" in args.only:
        print(f"(h) webhook deliveries of {args.webhook_events:,} events ...", flush=True)
        found.deliveries = bench_webhooks.deliveries(args.webhook_events)
    return found


def rows(found: PushFigures) -> list[str]:
    """(g) and (h) as a table of their own."""
    from . import bench_webhooks

    lines = []
    if found.waits is not None:
        w = found.waits
        meanwhile = "; ".join(
            f"({key}) {figure.per_second:,.0f} req/s, p99 {figure.p99_ms:.0f} ms, {figure.failures} failures"
            + (
                f" ({100 * figure.per_second / found.best[key].per_second:.0f} % of its best round without waiters)"
                if key in found.best and found.best[key].per_second
                else ""
            )
            for key, figure in w.during.items()
        )
        verdict = "PASS" if w.quiet and w.p99 < WAKEUP_P99_MS and not w.missed else "FAIL"
        loaded = w.wakeups
        lines += [
            f"(g) {w.waiters:,} bots holding wait={WAIT} calls (gevent web):",
            f"    wake-up from the SMS commit to the answer, {len(w.quiet)} codes: p50 {w.p50:.0f} ms, "
            f"p99 {w.p99:.0f} ms, max {max(w.quiet, default=0):.0f} ms ({verdict}: p99 < {WAKEUP_P99_MS:.0f} ms); "
            f"{w.missed} missed; {w.answers:,} answers, {w.errors} errors",
            f"    the same while (b) and (c) load the web, {len(loaded)} codes: p50 {percentile(loaded, 0.5):.0f} ms, "
            f"p99 {percentile(loaded, 0.99):.0f} ms",
            "    web RSS with the waits held: " + ", ".join(f"{mb:.0f} MB" for mb in w.rss),
            f"    status polls meanwhile: {meanwhile}",
        ]
    if found.deliveries is not None:
        lines.append(f"(h) webhooks to a receiver on loopback: {bench_webhooks.line(found.deliveries)}")
    return lines
