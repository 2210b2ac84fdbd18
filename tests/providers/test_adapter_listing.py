"""The adapters' listings used by polling and reconciliation: paging and finding open numbers."""

from __future__ import annotations

import json
from decimal import Decimal

from smsbulk.providers.fivesim import FiveSimProvider
from smsbulk.providers.sms_activate import SmsActivateProvider
from tests.stubs import Reply, Seen, StubServer

from .fakes import KEY


def paged_active_list(total: int, page_cap: int):
    """getActiveActivations of an upstream that pages (start, limit capped at page_cap)."""

    def handle(seen: Seen) -> Reply:
        start = int(seen.query.get("start", 0))
        limit = min(int(seen.query.get("limit", page_cap)), page_cap)
        rows = [
            {"activationId": str(n), "serviceCode": "wa", "countryCode": "62", "phoneNumber": f"90{n}", "smsCode": None}
            for n in range(start, min(total, start + limit))
        ]
        return Reply.json({"status": "success", "activeActivations": rows})

    return handle


def test_the_active_list_is_paged_only_while_refs_are_missing():
    with StubServer(paged_active_list(total=250, page_cap=100)) as upstream:
        adapter = SmsActivateProvider(upstream.url, KEY, timeout=2)
        assert len(adapter.statuses(["5", "40"])) == 2
        assert upstream.count(action="getActiveActivations") == 1
        assert len(adapter.statuses(["5", "240"])) == 2
        assert upstream.count(action="getActiveActivations") == 1 + 3  # pages of 100, 100, 50
        assert upstream.count(action="getStatus") == 0


def test_open_purchases_are_the_numbers_of_that_service_and_country_without_sms():
    rows = [
        {"activationId": "1", "serviceCode": "wa", "countryCode": "62", "phoneNumber": "9051", "activationCost": "0.2"},
        {"activationId": "2", "serviceCode": "tg", "countryCode": "62", "phoneNumber": "9052", "activationCost": "0.2"},
        {"activationId": "3", "serviceCode": "wa", "countryCode": "62", "phoneNumber": "9053", "smsCode": "12"},
    ]
    with StubServer(lambda seen: Reply.json({"status": "success", "activeActivations": rows})) as upstream:
        found = SmsActivateProvider(upstream.url, KEY, timeout=2).open_purchases("wa", 62)
    assert [(p.ref, p.phone, p.cost) for p in found] == [("1", "9051", Decimal("0.2"))]


def test_5sim_open_purchases_come_from_the_order_list():
    orders = [
        {"id": 11, "phone": "+905551", "price": 0.3, "status": "RECEIVED", "product": "whatsapp", "country": "turkey"},
        {"id": 12, "phone": "+905552", "price": 0.3, "status": "CANCELED", "product": "whatsapp", "country": "turkey"},
        {"id": 13, "phone": "+905553", "price": 0.3, "status": "RECEIVED", "product": "telegram", "country": "turkey"},
    ]

    def handle(seen: Seen) -> Reply:
        assert seen.path == "/v1/user/orders" and seen.headers["Authorization"] == f"Bearer {KEY}"
        return Reply(body=json.dumps({"Data": orders, "Total": 3}), content_type="application/json")

    with StubServer(handle) as upstream:
        found = FiveSimProvider(KEY, base_url=upstream.url, timeout=2).open_purchases("wa", 62)
    assert [(p.ref, p.phone) for p in found] == [("11", "905551")]
