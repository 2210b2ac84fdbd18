"""Closed-loop Locust users for `make bench`: each sends its next request as soon as the last one answers.

The user class is chosen on the command line; BENCH_DATA names the JSON file bench.py writes
with the keys and activations to use. Any answer other than the expected one is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import FastHttpUser, constant, task

COUNTRIES = ("RU", "ID", "GB", "IN", "TR", "US")
SERVICES = ("wa", "tg", "go", "ig", "fb", "vk")

_data: dict | None = None
_turn = itertools.count()


def data() -> dict:
    global _data
    if _data is None:
        with open(os.environ["BENCH_DATA"], encoding="utf-8") as handle:
            _data = json.load(handle)
    return _data


def pick(kind: str):
    """Users take items round-robin, so each one works with its own key and activation."""
    items = data()[kind]
    return items[next(_turn) % len(items)]


class ConstantUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def constant(self) -> None:
        self.client.get("/", name="bare Flask constant")


class LegacyStatusUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        target = pick("polls")
        self.path = f"/stubs/handler_api.php?api_key={target['key']}&action=getStatus&id={target['legacy_id']}"

    @task
    def get_status(self) -> None:
        with self.client.get(self.path, name="legacy getStatus", catch_response=True) as answer:
            if answer.status_code != 200 or not (answer.text or "").startswith("STATUS_"):
                answer.failure(f"HTTP {answer.status_code} {(answer.text or '')[:60]!r}")


class RestStatusUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        target = pick("polls")
        self.path = f"/api/v1/activations/{target['id']}"
        self.headers = {"x-api-key": target["key"]}

    @task
    def get_activation(self) -> None:
        with self.client.get(
            self.path, name="REST GET activation", headers=self.headers, catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code} {(answer.text or '')[:60]!r}")


class PurchaseUser(FastHttpUser):
    """POST /api/v1/activations must answer 201 with a number: a 202 (still PENDING) is a failure."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.headers = {"x-api-key": pick("purchase_keys")}

    @task
    def purchase(self) -> None:
        order = {"serviceCode": random.choice(SERVICES), "countryIso": random.choice(COUNTRIES)}
        with self.client.post(
            "/api/v1/activations", name="REST purchase", json=order, headers=self.headers, catch_response=True
        ) as answer:
            try:
                number = (answer.json() or {}).get("phoneNumber")
            except ValueError:
                number = None
            if answer.status_code != 201 or not number:
                answer.failure(f"HTTP {answer.status_code} {(answer.text or '')[:80]!r}")
