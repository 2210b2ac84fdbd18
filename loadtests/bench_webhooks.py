"""Bench (h): webhook deliveries per second to a receiver on loopback.

A receiver (asyncio, in a thread of this process) answers 204 to every POST and notes when each
`webhook-id` arrived. ENDPOINTS accounts each register one endpoint for it; then EVENTS events are
committed for them in transactions of BATCH events, through events.recording() like every writer
of the log, so each goes the whole way: the post-commit seam, a dispatch job, a delivery job in
the `webhooks` process, the guarded POST. The figure is deliveries per second from the first
commit to the last arrival, with the p50/p99 time from an event's commit to its arrival; every
event must arrive, and a sample of them must verify with `standardwebhooks`.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from smsbulk.extensions import db
from smsbulk.models import events as event_types
from smsbulk.services import accounts, events, webhooks

from .measure import percentile

ENDPOINTS = 20
BATCH = 10
SAMPLE = 50  # deliveries whose signature is checked


@dataclass
class Arrivals:
    at: dict[str, float] = field(default_factory=dict)  # webhook-id -> first arrival (monotonic)
    repeats: int = 0
    sample: list[tuple[dict, bytes]] = field(default_factory=list)


class Receiver:
    """POST -> 204, every webhook-id noted; asyncio on a loop of its own thread."""

    def __init__(self) -> None:
        self.arrivals = Arrivals()
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    async def handle(self, reader, writer) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                lines = request.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.note(headers, body)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):  # cancelled: serve()'s end
            writer.close()

    def note(self, headers: dict, body: bytes) -> None:
        found = self.arrivals
        msg_id = headers.get("webhook-id", "")
        if msg_id in found.at:
            found.repeats += 1
            return
        found.at[msg_id] = time.monotonic()
        if len(found.sample) < SAMPLE and random.random() < 0.2:
            found.sample.append((headers, body))

    def serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=512))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        # Stopped while kept-alive connections' handlers still read: end them before the loop goes
        # (otherwise "Task was destroyed but it is pending!" in the bench's output).
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self):
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class DeliveryFigures:
    events: int
    delivered: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms from commit to arrival
    repeats: int = 0
    verified: int = 0
    forged: int = 0

    @property
    def per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def endpoints(url: str) -> list[tuple[int, str]]:
    """ENDPOINTS accounts, each with one endpoint for the receiver: (user id, its secret)."""
    made = []
    with db.connection_context():
        for n in range(ENDPOINTS):
            user = accounts.create_user(f"hooks{n}-{time.time_ns()}@loadtest.invalid", "", Decimal("0"))
            _, secret = webhooks.create(user.id, url)
            made.append((user.id, secret))
    return made


def commit_events(users: list[int], count: int) -> dict[str, float]:
    """`count` events over the accounts, BATCH per transaction: webhook-id -> commit time."""
    committed = {}
    with db.connection_context():
        for n in range(0, count, BATCH):
            user = users[(n // BATCH) % len(users)]
            with events.recording(user) as recording:
                added = [
                    recording.add(user, event_types.LEDGER_ENTRY, {"bench": n + k, "amount": "0.01"})
                    for k in range(min(BATCH, count - n))
                ]
            now = time.monotonic()
            committed.update({f"evt_{event.id}": now for event in added})
    return committed


def deliveries(count: int, timeout: float = 120.0) -> DeliveryFigures:
    """Scenario (h); the stack must allow private webhook addresses (WEBHOOK_ALLOW_PRIVATE=1)."""
    with Receiver() as receiver:
        made = endpoints(f"http://127.0.0.1:{receiver.port}/hooks")
        began = time.monotonic()
        committed = commit_events([user for user, _ in made], count)
        deadline = time.monotonic() + timeout
        while len(receiver.arrivals.at) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = receiver.arrivals
        figures = DeliveryFigures(count, len(set(found.at) & set(committed)), repeats=found.repeats)
        if found.at:
            figures.seconds = max(found.at.values()) - began
        figures.latencies = [(found.at[i] - committed[i]) * 1000 for i in committed if i in found.at]
        secrets = [secret for _, secret in made]
        for headers, body in found.sample:
            ok = any(_verifies(secret, headers, body) for secret in secrets)
            figures.verified += ok
            figures.forged += not ok
    return figures


def _verifies(secret: str, headers: dict, body: bytes) -> bool:
    try:
        Verifier(secret).verify(body, headers)
        return True
    except WebhookVerificationError:
        return False


def line(figures: DeliveryFigures) -> str:
    return (
        f"{figures.per_second:,.0f} deliveries/s ({figures.delivered:,} of {figures.events:,} events in "
        f"{figures.seconds:.1f} s), commit to arrival p50 {percentile(figures.latencies, 0.5):.0f} ms, "
        f"p99 {percentile(figures.latencies, 0.99):.0f} ms; {figures.repeats} repeats; "
        f"signatures: {figures.verified} of {figures.verified + figures.forged} sampled verified"
    )
