"""A steady burst of REST and legacy purchases, cancels and polls, as bots send them.

Each purchase carries an idempotency key (REST Idempotency-Key, legacy orderId); a request that
gets no answer or a 5xx is retried with the same key, as a careful bot would, so the suite can
check that a retry after a crash buys once. Every answer is kept for the checks."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from dataclasses import dataclass, field

import requests

BUY = {"serviceCode": "wa", "countryIso": "TR"}


@dataclass
class Order:
    account: int  # index into the accounts
    key: str  # idempotency key
    style: str  # rest | legacy
    answers: list[str] = field(default_factory=list)  # "ok <id>", "pending <id>", "error <status>", "no answer"


class Burst:
    def __init__(self, url: str, keys: list[str], threads: int = 6) -> None:
        self.url = url
        self.keys = keys
        self.threads = threads
        self.orders: list[Order] = []
        self.requests = 0
        self._ids: list[tuple[int, str, int]] = []  # (account, rest id, legacy id)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self._workers = [threading.Thread(target=self._bot, args=(n,), daemon=True) for n in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)

    def _bot(self, n: int) -> None:
        session = requests.Session()
        rng = random.Random(n)
        while not self._stop.is_set():
            account = rng.randrange(len(self.keys))
            roll = rng.random()
            try:
                if roll < 0.35:
                    self._buy(session, account, "rest" if n % 2 else "legacy")
                elif roll < 0.5:
                    self._cancel(session, rng)
                else:
                    self._poll(session, rng)
            except Exception:  # noqa: BLE001 - a bot keeps going whatever one request did
                pass
            time.sleep(0.05)

    def _send(self, session, method: str, path: str, **kwargs):
        with self._lock:
            self.requests += 1
        return session.request(method, self.url + path, timeout=15, **kwargs)

    def _buy(self, session, account: int, style: str) -> None:
        order = Order(account, f"fault-{next(self._seq)}-{random.getrandbits(32):x}", style)
        with self._lock:
            self.orders.append(order)
        for _ in range(3):  # a retry with the same key after no answer or a server error
            try:
                answer = self._buy_once(session, order)
            except requests.RequestException:
                answer = "no answer"
            order.answers.append(answer)
            if not answer.startswith(("no answer", "error 5")):
                return
            time.sleep(1)

    def _buy_once(self, session, order: Order) -> str:
        key = self.keys[order.account]
        if order.style == "rest":
            headers = {"x-api-key": key, "Idempotency-Key": order.key}
            response = self._send(session, "POST", "/api/v1/activations", json=BUY, headers=headers)
            if response.status_code in (201, 202):
                body = response.json()
                self._remember(order.account, body["id"], body["legacyId"])
                return f"{'ok' if response.status_code == 201 else 'pending'} {body['legacyId']}"
            return f"error {response.status_code}"
        params = {"api_key": key, "action": "getNumber", "service": "wa", "country": "62", "orderId": order.key}
        response = self._send(session, "GET", "/stubs/handler_api.php", params=params)
        status = response.headers.get("X-Status-Code", "200")
        if response.text.startswith("ACCESS_NUMBER:"):
            legacy_id = int(response.text.split(":")[1])
            self._remember(order.account, None, legacy_id)
            return f"ok {legacy_id}"
        return f"error {status} {response.text[:40]}"

    def _remember(self, account: int, rest_id: str | None, legacy_id: int) -> None:
        with self._lock:
            self._ids.append((account, rest_id, legacy_id))

    def _pick(self, rng) -> tuple[int, str | None, int] | None:
        with self._lock:
            return rng.choice(self._ids) if self._ids else None

    def _cancel(self, session, rng) -> None:
        picked = self._pick(rng)
        if picked is None:
            return
        account, rest_id, legacy_id = picked
        if rest_id is not None:
            self._send(
                session, "POST", f"/api/v1/activations/{rest_id}/cancel", headers={"x-api-key": self.keys[account]}
            )
        else:
            params = {"api_key": self.keys[account], "action": "setStatus", "id": legacy_id, "status": 8}
            self._send(session, "GET", "/stubs/handler_api.php", params=params)

    def _poll(self, session, rng) -> None:
        picked = self._pick(rng)
        if picked is None:
            return
        account, rest_id, legacy_id = picked
        params = {"api_key": self.keys[account], "action": "getStatus", "id": legacy_id}
        self._send(session, "GET", "/stubs/handler_api.php", params=params)
        if rest_id is not None:
            self._send(session, "GET", f"/api/v1/activations/{rest_id}", headers={"x-api-key": self.keys[account]})

    def summary(self) -> dict:
        answers = [order.answers[-1] if order.answers else "none" for order in self.orders]
        return {
            "purchases": len(self.orders),
            "retried": sum(len(order.answers) > 1 for order in self.orders),
            "unanswered_or_error": sum(not a.startswith(("ok", "pending")) for a in answers),
            "requests": self.requests,
        }


def dump(orders: list[Order]) -> str:
    return json.dumps([order.__dict__ for order in orders][:20], indent=1)
