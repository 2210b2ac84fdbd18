"""Long-poll waits: a request waits for the account's next event without polling the database.

After every commit that appended events, one short message per account goes out on one Redis
channel (services/push.py): the account, its newest event id and the subjects the events were about
(`a<activation id>`, `r<rental id>`). Each web process holds one subscription to that channel,
read by one listener thread (a greenlet under gevent: smsbulk/serving.py), and wakes the
waiters of that account - only those of that subject when they wait for one. A waiter then
reads once more (its snapshot; the database on a miss). A waiter holds no database connection
while it waits and takes none after unless that read needs one, and, under gevent, no thread:
2,000 waiting bots cost 2,000 greenlets and one Redis connection per process.

No wake-up is trusted to arrive: a waiter registers before it reads, so an event committed
between its read and its wait still wakes it; the subscription wakes every waiter when it
(re)connects, since messages sent while it was away are lost; and a waiter whose wake-up never
came reads once more when its time is up. A lost message costs lateness, never an event.

Under the thread-per-request model (gthread) a wait holds a thread: WAIT_MAX_THREADS of them at
most per process (the rest answer at once, as without `wait`), so waits cannot starve the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar

import redis
from flask import current_app

from ..extensions import cooperative, db, redis_for

log = logging.getLogger(__name__)

CHANNEL = "smsbulk:events"
MAX_WAIT_SECONDS = 30
T = TypeVar("T")


def message_of(user_id: int, newest: int, subjects: Iterable[str]) -> str:
    return f"{user_id} {newest} {','.join(sorted(set(subjects)))}"


class Waiter:
    """One waiting request: woken by any event of its account, or of its subject if it has one."""

    __slots__ = ("user_id", "subject", "_woken")

    def __init__(self, user_id: int, subject: str | None) -> None:
        self.user_id, self.subject = user_id, subject
        self._woken = threading.Event()  # gevent's under gevent (the module is patched first)

    def wake(self) -> None:
        self._woken.set()

    def wait(self, seconds: float) -> bool:
        woken = self._woken.wait(max(0.0, seconds))
        self._woken.clear()
        return woken


class Hub:
    """This process's waiters, and the one subscription that wakes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[Waiter]] = defaultdict(set)
        self._listener: threading.Thread | None = None
        self._pid = None
        self.connect: Callable[[], redis.Redis] | None = None
        # Others that follow the channel (services/snapshots.py's copies in this process): told
        # of each message's subjects, and whether the subscription is up (False: it may miss some).
        self.followers: list = []

    def add(self, user_id: int, subject: str | None) -> Waiter:
        waiter = Waiter(user_id, subject)
        with self._lock:
            self._waiters[user_id].add(waiter)
        return waiter

    def remove(self, waiter: Waiter) -> None:
        with self._lock:
            held = self._waiters.get(waiter.user_id)
            if held is not None:
                held.discard(waiter)
                if not held:
                    del self._waiters[waiter.user_id]

    def count(self) -> int:
        with self._lock:
            return sum(len(held) for held in self._waiters.values())

    def wake(self, message: str) -> None:
        """Wake the waiters a message concerns: `user newest a1,r2`."""
        user, _, rest = message.partition(" ")
        subjects = set(rest.partition(" ")[2].split(","))
        for follower in self.followers:
            follower.heard(subjects)
        with self._lock:
            waiters = list(self._waiters.get(int(user), ()))
        for waiter in waiters:
            if waiter.subject is None or waiter.subject in subjects:
                waiter.wake()

    def wake_all(self) -> None:
        with self._lock:
            waiters = [waiter for held in self._waiters.values() for waiter in held]
        for waiter in waiters:
            waiter.wake()

    def listening(self) -> bool:
        import os

        return self._listener is not None and self._listener.is_alive() and self._pid == os.getpid()

    def ensure_listening(self, connect: Callable[[], redis.Redis]) -> None:
        """Start this process's listener once (again in a forked child)."""
        import os

        if self.listening():
            return
        with self._lock:
            if self._listener is not None and self._listener.is_alive() and self._pid == os.getpid():
                return
            self.connect, self._pid = connect, os.getpid()
            self._listener = threading.Thread(target=self._listen, name="wakeups", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                pubsub = self.connect().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._followers_live(True)
                self.wake_all()  # what was published while not subscribed is lost: everyone looks again
                backoff = 0.1
                while True:
                    message = pubsub.get_message(timeout=30.0)
                    if message is not None and message["type"] == "message":
                        self.wake(message["data"].decode())
            except Exception as exc:  # noqa: BLE001 - the listener must outlive a Redis restart
                log.warning("wake-up subscription lost (%s); reconnecting in %.1f s", type(exc).__name__, backoff)
                self._followers_live(False)
                self.wake_all()
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _followers_live(self, live: bool) -> None:
        for follower in self.followers:
            follower.reset(live)


hub = Hub()
_threads_waiting = {"count": 0}
_threads_lock = threading.Lock()


def ensure_listening() -> None:
    """This process's subscription, started if it is not yet (in an app context)."""
    if not hub.listening():
        hub.ensure_listening(_subscriber())


def _subscriber() -> Callable[[], redis.Redis]:
    """How the listener makes its client: one of its own, whose connection the subscription keeps
    for good (built from the app's Redis settings here, in the request's app context)."""
    cfg = current_app.config
    pool = redis_for(cfg["REDIS_URL"], cfg["DATABASE_URL"]).connection_pool
    kind, settings = pool.connection_class, dict(pool.connection_kwargs)
    return lambda: redis.Redis(connection_pool=redis.ConnectionPool(connection_class=kind, **settings))


class _Slot:
    """A wait's place: free under gevent; at most WAIT_MAX_THREADS threads of a process otherwise."""

    def __init__(self) -> None:
        self.held = False
        if cooperative():
            self.free = True
            return
        with _threads_lock:
            self.free = self.held = _threads_waiting["count"] < current_app.config["WAIT_MAX_THREADS"]
            if self.held:
                _threads_waiting["count"] += 1

    def release(self) -> None:
        if self.held:
            with _threads_lock:
                _threads_waiting["count"] -= 1
            self.held = False


def watch(user_id: int, subject: str | None, read: Callable[[], T], done: Callable[[T], bool], wait: float) -> T:
    """read() until done(value), for at most `wait` seconds, waking on the account's (or the
    subject's) events: the last value read. Without `wait`, or when no wait slot is free, one read."""
    wait = min(float(wait or 0), MAX_WAIT_SECONDS)
    slot = _Slot() if wait > 0 else None
    if slot is None or not slot.free:
        return read()
    hub.ensure_listening(_subscriber())
    waiter = hub.add(user_id, subject)  # before the read: an event committed after it wakes us
    try:
        deadline = time.monotonic() + wait
        value = read()
        while not done(value):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _give_back_connection()
            woken = waiter.wait(left)
            value = read()  # woken, or time is up: one more look either way
            if not woken:
                break
        return value
    finally:
        hub.remove(waiter)
        slot.release()


def _give_back_connection() -> None:
    """Give the request's pooled database connection back before waiting: its next query, if any
    (a read the snapshot cannot answer), takes one again (db.RequestConnected). Retaking it on
    every wake-up made 2,000 waiters whose time was up at once queue for the pool's connections,
    and a woken waiter queue behind them for seconds."""
    if not db.is_closed():
        if db.in_transaction():
            raise RuntimeError("a wait inside a transaction would hold its locks")
        db.close()
