"""The 5sim adapter's hosting numbers (rentals) and reuse (reactivation), against a local 5sim."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from smsbulk.providers.base import (
    ACTIVE,
    FINISHED,
    REVOKED,
    NoNumbersError,
    PriceTooHighError,
    Purchase,
    RentQuote,
    UnsupportedError,
)
from smsbulk.providers.fivesim import FiveSimProvider
from smsbulk.providers.fivesim_hosting import hours_of
from tests.stubs import Reply, Seen, StubServer

TOKEN = "eyJhbGciOiJSUzUxMiJ9.hosting-token.Zq8"
HOSTING = re.compile(r"^/v1/user/buy/hosting/([^/]+)/([^/]+)/([^/]+)$")
REUSE = re.compile(r"^/v1/user/reuse/([^/]+)/([0-9]+)$")
ACT = re.compile(r"^/v1/user/(check|finish|cancel)/(\d+)$")


def plain(text: str, status: int = 400) -> Reply:
    return Reply(status=status, body=text, content_type="text/plain; charset=utf-8")


class FakeFiveSimHosting:
    """England hosts numbers for 3 hours and a day; Russia hosts nothing."""

    def __init__(self) -> None:
        self.orders: dict[int, dict] = {}
        self.next_id = 20000001
        self.reusable = {"447700900555"}

    def handle(self, seen: Seen) -> Reply:
        if seen.path == "/v1/guest/countries":
            return Reply.json(
                {
                    "england": {"iso": {"gb": 1}, "virtual21": {"activation": 1}, "virtual58": {"hosting": 1}},
                    "russia": {"iso": {"ru": 1}, "virtual4": {"activation": 1}},
                }
            )
        if seen.path == "/v1/guest/products/england/any":
            products = (
                '"3hours":{"Category":"hosting","Qty":4,"Price":0.9},"1day":{"Category":"hosting","Qty":2,"Price":3.5}'
            )
            return Reply(body="{" + products + ',"whatsapp":{"Category":"activation","Qty":99,"Price":0.1}}')
        if seen.path == "/v1/guest/prices":
            rows = '{"virtual21":{"cost":0.1,"count":40},"virtual58":{"cost":0.12,"count":3}}'
            return Reply(body=f'{{"england":{{"whatsapp":{rows}}}}}')
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}":
            return plain("", status=401)
        if match := HOSTING.match(seen.path):
            return self.order(match[3], "0.9" if match[3] == "3hours" else "3.5")
        if match := REUSE.match(seen.path):
            if match[2] not in self.reusable:
                return plain("reuse not possible")
            return self.order(match[1], "0.12", phone=match[2])
        if seen.path == "/v1/user/orders":
            rows = [o for o in self.orders.values() if o["category"] == seen.query["category"]]
            return Reply.json({"Data": sorted(rows, key=lambda o: -o["id"]), "Total": len(rows)})
        if match := ACT.match(seen.path):
            order = self.orders[int(match[2])]
            order["status"] = {"check": order["status"], "finish": "FINISHED", "cancel": "CANCELED"}[match[1]]
            return Reply.json(order)
        return plain("not found", status=404)

    def order(self, product: str, price: str, phone: str | None = None) -> Reply:
        order_id, self.next_id = self.next_id, self.next_id + 1
        category = "hosting" if hours_of(product) else "activation"
        order = {"id": order_id, "phone": f"+{phone or 4477009 * 100000 + order_id % 100000}", "product": product}
        order |= {"price": price, "status": "RECEIVED", "sms": [], "country": "england", "category": category}
        order |= {"created_at": "2025-06-01T12:00:00Z", "expires": "2025-06-02T12:00:00.000000Z"}
        self.orders[order_id] = order
        return Reply.json(order)


@pytest.fixture
def fake() -> FakeFiveSimHosting:
    return FakeFiveSimHosting()


@pytest.fixture
def stub(fake):
    with StubServer(fake.handle) as server:
        yield server


@pytest.fixture
def adapter(stub) -> FiveSimProvider:
    return FiveSimProvider(TOKEN, base_url=stub.url, timeout=2.0)


@pytest.mark.parametrize(("product", "hours"), [("3hours", 3), ("1day", 24), ("10days", 240), ("1month", 720)])
def test_a_hosting_product_names_its_length(product, hours):
    assert hours_of(product) == hours


def test_whatsapp_and_zero_length_products_are_no_lengths():
    assert hours_of("whatsapp") is None and hours_of("0hours") is None


def test_rent_prices_are_the_hosting_products_of_the_countries_that_host(adapter, stub):
    quotes = adapter.rent_prices([4, 24])
    assert sorted(quotes, key=lambda q: q.hours) == [
        RentQuote("full", 16, "any", 3, Decimal("0.9"), 4, any_hours=False),
        RentQuote("full", 16, "any", 24, Decimal("3.5"), 2, any_hours=False),
    ]
    assert "/v1/guest/products/russia/any" not in stub.paths()  # Russia hosts nothing: not asked


def test_a_rental_is_a_hosting_order_of_exactly_the_length_asked(adapter, stub):
    rented = adapter.rent("full", 16, "any", 24, Decimal("4"), "1")
    assert (rented.ref, rented.cost) == ("20000001", Decimal("3.5")) and rented.phone.isdigit()
    assert stub.paths()[-1] == "/v1/user/buy/hosting/england/any/1day"
    assert rented.ends_at.isoformat() == "2025-06-02T12:00:00"
    with pytest.raises(NoNumbersError):
        adapter.rent("full", 16, "any", 4, None, "2")  # no 4-hour product
    with pytest.raises(NoNumbersError):
        adapter.rent("wa", 16, "any", 24, None, "3")  # hosting numbers are full rentals
    with pytest.raises(PriceTooHighError):
        adapter.rent("full", 16, "any", 3, Decimal("0.5"), "4")


def test_hosting_orders_are_polled_from_the_hosting_order_list(adapter, fake, stub):
    refs = [adapter.rent("full", 16, "any", 3, None, str(n)).ref for n in range(3)]
    fake.orders[int(refs[0])]["sms"].append(
        {
            "created_at": "2025-06-01T12:01:00Z",
            "sender": "Facebook",
            "text": "Use 415127 as your code",
            "code": "415127",
        }
    )
    fake.orders[int(refs[1])]["status"] = "TIMEOUT"
    fake.orders[int(refs[2])]["status"] = "BANNED"
    answer = adapter.rent_statuses(refs)
    assert stub.seen[-1].query["category"] == "hosting"
    assert [answer[ref].state for ref in refs] == [ACTIVE, FINISHED, REVOKED]
    message = answer[refs[0]].messages[0]
    assert (message.code, message.sender, message.text) == ("415127", "Facebook", "Use 415127 as your code")


def test_a_hosting_order_cannot_be_extended_and_says_so(adapter):
    rented = adapter.rent("full", 16, "any", 3, None, "1")
    with pytest.raises(UnsupportedError):
        adapter.extension_cost(rented.ref, 3)
    with pytest.raises(UnsupportedError):
        adapter.extend_rent(rented.ref, 3, None)
    adapter.finish_rent(rented.ref)


def test_reuse_buys_the_same_number_again_at_the_highest_listed_price(adapter, stub):
    assert adapter.reactivation_cost("1", "wa", 16, "447700900555") == Decimal("0.12")
    again = adapter.reactivate("1", "wa", 16, "447700900555", Decimal("0.12"), "9")
    assert again == Purchase(ref="20000001", phone="447700900555", cost=Decimal("0.12"))
    assert stub.paths()[-1] == "/v1/user/reuse/whatsapp/447700900555"
    with pytest.raises(NoNumbersError):
        adapter.reactivate("1", "wa", 16, "447700900556", None, "10")
