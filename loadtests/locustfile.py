"""Bots as SMSBulk meets them: SMS-Activate scripts, REST integrations and catalogue browsers.

    python -m loadtests.setup_accounts --out loadtests/results/keys.txt      # funded keys first
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --headless -u 500 -r 50 -t 2m

A bot buys a number, polls its status every SMSBULK_POLL_SECONDS until the code arrives and
finishes the activation (with SMSBULK_WAIT_SECONDS set, it asks with `wait=` that many seconds
instead, back to back: getStatus&wait=N, or GET /activations/{id}?wait=N with If-None-Match);
a share of them (SMSBULK_CANCEL_RATE) cancels instead, the way a
script drops a number the target site refused. Then it spends 5-15 s using the code before
its next purchase; bots start within SMSBULK_START_JITTER seconds of each other. A renting bot
rents a number through the legacy rent actions, reads its SMS as they come, extends a share of
its rentals and finishes them. Bots take their keys round-robin from SMSBULK_KEYS_FILE. Only
answers a healthy service gives count as successes: NO_BALANCE, NO_NUMBERS, a 5xx or a
malformed token are failures.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from urllib.parse import urlencode

from locust import FastHttpUser, between, task

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS_FILE = os.environ.get("SMSBULK_KEYS_FILE", os.path.join(HERE, "results", "keys.txt"))
POLL_SECONDS = float(os.environ.get("SMSBULK_POLL_SECONDS", "3"))
# 0: poll every POLL_SECONDS, as bots do today; N: long-poll with wait=N (at most 30), no pause.
WAIT_SECONDS = int(float(os.environ.get("SMSBULK_WAIT_SECONDS", "0")))
CODE_TIMEOUT = float(os.environ.get("SMSBULK_CODE_TIMEOUT", "120"))
CANCEL_RATE = float(os.environ.get("SMSBULK_CANCEL_RATE", "0.1"))
# The cancel comes after this many polls, past the service's early-cancel lock in a load run.
CANCEL_AFTER_POLLS = int(os.environ.get("SMSBULK_CANCEL_AFTER_POLLS", "2"))
# Between two activations a bot uses its code on the target site.
THINK_SECONDS = (5.0, 15.0)
START_JITTER = float(os.environ.get("SMSBULK_START_JITTER", "15"))

# A renting bot extends this share of its rentals once, and holds each for this many SMS polls.
EXTEND_RATE = float(os.environ.get("SMSBULK_EXTEND_RATE", "0.3"))
RENT_POLLS = int(os.environ.get("SMSBULK_RENT_POLLS", "5"))

LEGACY = "/stubs/handler_api.php"
SERVICES = ("wa", "tg", "go", "ig", "fb", "vk", "tw", "ds")
COUNTRIES = (("0", "RU"), ("6", "ID"), ("16", "GB"), ("22", "IN"), ("62", "TR"), ("187", "US"))
RENT_COUNTRIES = ("0", "16", "6")  # where the simulator rents (SMS-Activate's rent countries)
RENT_SERVICES = ("full", "wa", "tg")

_keys: itertools.cycle | None = None


def next_key() -> str:
    """Keys round-robin, so bots spread over many keys and accounts like real customers."""
    global _keys
    if _keys is None:
        with open(KEYS_FILE, encoding="utf-8") as handle:
            keys = [line.strip() for line in handle if line.strip()]
        if not keys:
            raise RuntimeError(f"no keys in {KEYS_FILE}: run python -m loadtests.setup_accounts first")
        _keys = itertools.cycle(keys)
    return next(_keys)


def stagger() -> None:
    """Bots start out of step, as real ones do, instead of all buying in the first second."""
    time.sleep(random.uniform(0, START_JITTER))


class LegacyBot(FastHttpUser):
    """An SMS-Activate script pointed at SMSBulk: plain-text tokens over /stubs/handler_api.php."""

    weight = 5
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        self.key = next_key()
        stagger()

    def call(self, action: str, expect: tuple[str, ...], **params: str) -> str | None:
        """One protocol call; the answer must start with one of `expect`, else it is a failure."""
        query = urlencode({"api_key": self.key, "action": action, **params})
        with self.client.get(f"{LEGACY}?{query}", name=f"legacy {action}", catch_response=True) as answer:
            body = answer.text or ""
            if answer.status_code != 200 or not body.startswith(expect):
                answer.failure(f"{action}: HTTP {answer.status_code} {body[:80]!r}")
                return None
            answer.success()
            return body

    @task
    def activation(self) -> None:
        if self.call("getBalance", ("ACCESS_BALANCE:",)) is None:
            return
        activation_id = self.buy()
        if activation_id is not None:
            self.wait_for_code(activation_id, cancel=random.random() < CANCEL_RATE)

    def buy(self) -> str | None:
        service, (country, _) = random.choice(SERVICES), random.choice(COUNTRIES)
        if random.random() < 0.5:
            body = self.call("getNumber", ("ACCESS_NUMBER:",), service=service, country=country)
            return body.split(":")[1] if body else None
        query = urlencode({"api_key": self.key, "action": "getNumberV2", "service": service, "country": country})
        with self.client.get(f"{LEGACY}?{query}", name="legacy getNumberV2", catch_response=True) as answer:
            try:
                number = answer.json()
                activation_id, phone = str(number["activationId"]), str(number["phoneNumber"])
            except (ValueError, KeyError, TypeError):
                answer.failure(f"getNumberV2: HTTP {answer.status_code} {(answer.text or '')[:80]!r}")
                return None
            if not (activation_id.isdigit() and phone.isdigit()):
                answer.failure(f"getNumberV2: id {activation_id!r} phone {phone!r}")
                return None
            answer.success()
            return activation_id

    def wait_for_code(self, activation_id: str, cancel: bool) -> None:
        deadline = time.monotonic() + CODE_TIMEOUT
        polls = 0
        while time.monotonic() < deadline:
            if WAIT_SECONDS:
                status = self.call("getStatus", ("STATUS_",), id=activation_id, wait=str(WAIT_SECONDS))
            else:
                time.sleep(POLL_SECONDS)
                status = self.call("getStatus", ("STATUS_",), id=activation_id)
            polls += 1
            if status is None or status == "STATUS_CANCEL":
                return
            if status.startswith("STATUS_OK:"):
                self.call("setStatus", ("ACCESS_ACTIVATION",), id=activation_id, status="6")
                return
            if cancel and polls >= CANCEL_AFTER_POLLS:
                answer = self.call(
                    "setStatus", ("ACCESS_CANCEL", "EARLY_CANCEL_DENIED", "BAD_STATUS"), id=activation_id, status="8"
                )
                if answer == "ACCESS_CANCEL":
                    return
                cancel = answer == "EARLY_CANCEL_DENIED"  # BAD_STATUS: the code came first, wait for it
        self.call("setStatus", ("ACCESS_CANCEL", "BAD_STATUS", "EARLY_CANCEL_DENIED"), id=activation_id, status="8")


class RentingBot(FastHttpUser):
    """A script that rents numbers by the hour over the legacy rent actions (reference §4.4): it
    checks what can be rented, rents, reads every SMS as it comes, sometimes extends, then finishes."""

    weight = 1
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        self.key = next_key()
        stagger()

    def call(self, action: str, ok: tuple[str, ...], **params: str) -> dict | None:
        """One rent call: its JSON, unless it is an error other than the tokens in `ok`."""
        query = urlencode({"api_key": self.key, "action": action, **params})
        with self.client.get(f"{LEGACY}?{query}", name=f"legacy {action}", catch_response=True) as answer:
            try:
                body = json.loads(answer.text or "")
            except ValueError:
                body = None
            # Success: "status":"success", or no status at all (the catalogue); an error names its token.
            good = isinstance(body, dict) and (body.get("status") != "error" or body.get("message") in ok)
            if answer.status_code != 200 or not good:
                answer.failure(f"{action}: HTTP {answer.status_code} {(answer.text or '')[:80]!r}")
                return None
            answer.success()
            return body

    @task
    def rental(self) -> None:
        country = random.choice(RENT_COUNTRIES)
        offered = self.call("getRentServicesAndCountries", (), country=country, rent_time="4")
        if offered is None:
            return
        rented = self.call("getRentNumber", (), service=random.choice(RENT_SERVICES), country=country, rent_time="4")
        if rented is None:
            return
        rental_id = str(rented["phone"]["id"])
        extend = random.random() < EXTEND_RATE
        for poll in range(RENT_POLLS):
            time.sleep(POLL_SECONDS)
            self.call("getRentStatus", ("STATUS_WAIT_CODE",), id=rental_id)
            if extend and poll == 1:
                if self.call("getContinueRentPriceNumber", (), id=rental_id, rent_time="4") is not None:
                    self.call("continueRentNumber", (), id=rental_id, rent_time="4")
        self.call("setRentStatus", (), id=rental_id, status="1")


class RestBot(FastHttpUser):
    """The same customer written against /api/v1, keyed by the x-api-key header."""

    weight = 4
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        self.headers = {"x-api-key": next_key()}
        stagger()

    def request(self, method: str, path: str, name: str, expect: tuple[int, ...], **kwargs) -> dict | None:
        with self.client.request(
            method, path, name=name, headers=self.headers, catch_response=True, **kwargs
        ) as answer:
            try:
                body = answer.json()
            except ValueError:
                body = None
            if answer.status_code not in expect or not isinstance(body, dict):
                answer.failure(f"{name}: HTTP {answer.status_code} {(answer.text or '')[:120]!r}")
                return None
            answer.success()
            return body | {"_status": answer.status_code}

    @task
    def activation(self) -> None:
        if self.request("GET", "/api/v1/wallet/balance", "GET /api/v1/wallet/balance", (200,)) is None:
            return
        service, (country_id, iso) = random.choice(SERVICES), random.choice(COUNTRIES)
        where = {"countryIso": iso} if random.random() < 0.5 else {"countryId": int(country_id)}
        bought = self.request(
            "POST",
            "/api/v1/activations",
            "POST /api/v1/activations",
            (201, 202),
            json={"serviceCode": service, **where},
        )
        if bought is not None:
            self.wait_for_code(bought["id"], cancel=random.random() < CANCEL_RATE)

    def poll(self, public_id: str, seen: dict | None) -> dict | None:
        """One status read; with WAIT_SECONDS a long poll that answers when it differs from `seen`."""
        if not WAIT_SECONDS:
            return self.request("GET", f"/api/v1/activations/{public_id}", "GET /api/v1/activations/{id}", (200,))
        path = f"/api/v1/activations/{public_id}?wait={WAIT_SECONDS}"
        tag = {"If-None-Match": seen["_etag"]} if seen and seen.get("_etag") else {}
        with self.client.get(
            path, name="GET /api/v1/activations/{id}", headers={**self.headers, **tag}, catch_response=True
        ) as answer:
            if answer.status_code == 304:
                answer.success()
                return seen
            if answer.status_code != 200:
                answer.failure(f"poll: HTTP {answer.status_code} {(answer.text or '')[:120]!r}")
                return None
            answer.success()
            return answer.json() | {"_etag": answer.headers.get("ETag")}

    def act(self, public_id: str, action: str, expect: tuple[int, ...] = (200,)) -> dict | None:
        path = f"/api/v1/activations/{public_id}/{action}"
        return self.request("POST", path, f"POST /api/v1/activations/{{id}}/{action}", expect)

    def wait_for_code(self, public_id: str, cancel: bool) -> None:
        deadline = time.monotonic() + CODE_TIMEOUT
        polls, activation = 0, None
        while time.monotonic() < deadline:
            if not WAIT_SECONDS:
                time.sleep(POLL_SECONDS)
            activation = self.poll(public_id, activation)
            polls += 1
            if activation is None or activation["status"] in ("CANCELED", "EXPIRED", "FAILED", "COMPLETED"):
                return
            if activation.get("smsCode"):
                self.act(public_id, "finish")
                return
            if cancel and polls >= CANCEL_AFTER_POLLS and activation["status"] == "WAITING":
                # 409: inside the early-cancel lock, or the code won the race; keep polling either way.
                answer = self.act(public_id, "cancel", (200, 409))
                if answer is not None and answer["_status"] == 200:
                    return
        self.act(public_id, "cancel", (200, 409))


class CatalogueBrowser(FastHttpUser):
    """Someone choosing where to buy: the countries, then prices for a service or for a pair."""

    weight = 1
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        self.headers = {"x-api-key": next_key()}
        stagger()

    def get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, headers=self.headers, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{name}: HTTP {answer.status_code} {(answer.text or '')[:120]!r}")
            else:
                answer.success()

    @task(1)
    def countries(self) -> None:
        self.get("/api/v1/catalog/countries", "GET /api/v1/catalog/countries")

    @task(2)
    def prices_for_service(self) -> None:
        self.get(f"/api/v1/catalog/prices?serviceCode={random.choice(SERVICES)}", "GET /api/v1/catalog/prices?service")

    @task(3)
    def price_of_pair(self) -> None:
        _, iso = random.choice(COUNTRIES)
        path = f"/api/v1/catalog/prices?serviceCode={random.choice(SERVICES)}&countryIso={iso}"
        self.get(path, "GET /api/v1/catalog/prices?service&country")
