"""A small SMS-Activate-protocol upstream in memory, served by tests.stubs.StubServer, and helpers
to configure the downstream (the `app` fixture) with providers pointing at such upstreams."""

from __future__ import annotations

import json
from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Provider
from smsbulk.providers.base import Quote
from smsbulk.services import catalog, providers
from tests.stubs import Reply, Seen

KEY = "Up5treamKey0123456789abcdefABCDE"
TURKEY = 62  # "TR" in the catalogue


class FakeUpstream:
    """Stock per (country id, service), activations with their SMS, and switches for failures.

    `scripted[action]` answers that action with a canned reply. `slow_buy` makes a purchase go
    through but answer after `slow_buy` seconds (a read timeout for the buyer): the number
    exists upstream, the buyer never learns it."""

    def __init__(self, cost: str = "0.20", count: int = 50) -> None:
        self.stock: dict[tuple[int, str], tuple[str, int]] = {(TURKEY, "wa"): (cost, count)}
        self.activations: dict[str, dict] = {}
        self.next_id = 7000001
        self.scripted: dict[str, Reply] = {}
        self.slow_buy = 0.0

    def handle(self, seen: Seen) -> Reply:
        q = seen.query
        if q.get("api_key") != KEY:
            return Reply(body="BAD_KEY")
        action = q.get("action", "")
        if action in self.scripted:
            return self.scripted[action]
        method = getattr(self, f"do_{action}", None)
        return method(q) if method else Reply(body="BAD_ACTION")

    def open(self, ref: str, service: str = "wa", country: int = TURKEY, cost: str = "0.20") -> None:
        self.activations[ref] = {"service": service, "country": country, "cost": cost, "state": "waiting", "sms": []}

    def deliver(self, ref: str, code: str) -> None:
        self.activations[ref]["sms"].append(code)
        self.activations[ref]["state"] = "received"

    def do_getPrices(self, q: dict) -> Reply:
        table: dict[str, dict] = {}
        for (country, service), (cost, count) in self.stock.items():
            table.setdefault(str(country), {})[service] = {"cost": cost, "count": count}
        return Reply(body=json.dumps(table), content_type="application/json")

    def do_getNumberV2(self, q: dict) -> Reply:
        key = (int(q.get("country", "-1")), q.get("service", ""))
        cost, count = self.stock.get(key, ("0", 0))
        if not count:
            return Reply(body="NO_NUMBERS")
        if "maxPrice" in q and Decimal(q["maxPrice"]) < Decimal(cost):
            return Reply(body=f"WRONG_MAX_PRICE:{cost}")
        ref, self.next_id = str(self.next_id), self.next_id + 1
        self.open(ref, key[1], key[0], cost)
        answer = {"activationId": ref, "phoneNumber": f"90532{ref}", "activationCost": cost, "currency": 840}
        return Reply(body=json.dumps(answer), content_type="application/json", delay=self.slow_buy)

    def do_getActiveActivations(self, q: dict) -> Reply:
        rows = [
            {
                "activationId": ref,
                "serviceCode": row["service"],
                "countryCode": str(row["country"]),
                "phoneNumber": f"90532{ref}",
                "activationCost": row["cost"],
                "smsCode": row["sms"][-1] if row["sms"] else None,
                "smsText": f"Your code is {row['sms'][-1]}" if row["sms"] else None,
            }
            for ref, row in self.activations.items()
            if row["state"] in ("waiting", "received")
        ]
        if not rows:
            return Reply.json({"status": "error", "error": "NO_ACTIVATIONS"})
        return Reply.json({"status": "success", "activeActivations": rows})

    def do_getStatus(self, q: dict) -> Reply:
        row = self.activations.get(q.get("id", ""))
        if row is None:
            return Reply(body="NO_ACTIVATION")
        if row["sms"]:
            return Reply(body=f"STATUS_OK:{row['sms'][-1]}")
        return Reply(body="STATUS_CANCEL" if row["state"] == "canceled" else "STATUS_WAIT_CODE")

    def do_setStatus(self, q: dict) -> Reply:
        row = self.activations.get(q.get("id", ""))
        if row is None:
            return Reply(body="NO_ACTIVATION")
        new, answer = {"8": ("canceled", "ACCESS_CANCEL"), "6": ("finished", "ACCESS_ACTIVATION")}[q["status"]]
        row["state"] = new
        return Reply(body=answer)


def connect_provider(name: str, url: str, priority: int = 10, markup: str = "1.25") -> Provider:
    """An sms-activate provider row for the downstream, with its prices pulled from the URL."""
    with db.connection_context():
        provider = providers.add(name, "sms-activate", base_url=url, api_key=KEY, priority=priority, markup=markup)
        providers.sync_prices(name)
    return provider


def dead_provider(name: str, url: str, cost: str, priority: int = 1, markup: str = "1.25") -> Provider:
    """A provider whose prices were synced while it lived, and which is now gone (url answers nothing)."""
    with db.connection_context():
        provider = providers.add(name, "sms-activate", base_url=url, api_key=KEY, priority=priority, markup=markup)
        catalog.store_quotes(provider, [Quote("wa", TURKEY, "any", Decimal(cost), 40)], Decimal(markup))
    return provider


def simulator_off() -> None:
    with db.connection_context():
        providers.set_enabled("simulator", False)
