"""The 5sim adapter against a local upstream that answers like 5sim.net's REST API."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from smsbulk.providers import KINDS
from smsbulk.providers.base import (
    CANCELED,
    FINISHED,
    RECEIVED,
    WAITING,
    AmbiguousPurchaseError,
    NoNumbersError,
    OutOfFundsError,
    PermanentProviderError,
    PriceTooHighError,
    ProviderError,
    Purchase,
    Quote,
    RetryableProviderError,
)
from smsbulk.providers.fivesim import PAGE_SIZE, PRODUCTS, FiveSimProvider, country_slugs
from tests.stubs import Reply, Seen, StubServer, closed_port_url

TOKEN = "eyJhbGciOiJSUzUxMiJ9.secret-token-for-tests.Zq8"
BUY = re.compile(r"^/v1/user/buy/activation/([^/]+)/([^/]+)/([^/]+)$")
ACT = re.compile(r"^/v1/user/(check|finish|cancel|ban)/(\d+)$")

PRICES_JSON = (
    '{"england":{"whatsapp":{"virtual21":{"cost":0.1,"count":40,"rate":99.5}},'
    '"hosting3h":{"any":{"cost":1,"count":1}}},'
    '"usa":{"telegram":{"virtual8":{"cost":12.5085,"count":7}}},'
    '"atlantis":{"whatsapp":{"any":{"cost":1,"count":1}}}}'
)


def plain(text: str, status: int = 400) -> Reply:
    return Reply(status=status, body=text, content_type="text/plain; charset=utf-8")


class FakeFiveSim:
    """5sim.net in memory: stock, orders and their SMS.

    `scripted[path prefix]` overrides the logic with a canned reply."""

    def __init__(self) -> None:
        self.balance = Decimal("100.5")
        self.stock = {("england", "whatsapp"): ("0.1", 40), ("usa", "telegram"): ("12.5085", 7)}
        self.countries = {"england", "usa", "russia", "turkey"}
        self.orders: dict[int, dict] = {}
        self.next_id = 11631253
        self.scripted: dict[str, Reply] = {}

    def handle(self, seen: Seen) -> Reply:
        for prefix, reply in self.scripted.items():
            if seen.path.startswith(prefix):
                return reply
        if seen.path == "/v1/guest/prices":
            return Reply(body=PRICES_JSON, content_type="application/json")
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}":
            return plain("", status=401)
        if seen.path == "/v1/user/profile":
            return Reply(body=f'{{"id":1,"email":"ops@example.com","balance":{self.balance},"rating":96}}')
        if seen.path == "/v1/user/orders":
            return self.order_list(int(seen.query["limit"]), int(seen.query["offset"]))
        if match := BUY.match(seen.path):
            return self.buy(*match.groups(), max_price=seen.query.get("maxPrice"))
        if match := ACT.match(seen.path):
            return self.act(match[1], int(match[2]))
        return plain("not found", status=404)

    def add_order(self, country="england", product="whatsapp", price="0.1", status="PENDING") -> dict:
        order_id, self.next_id = self.next_id, self.next_id + 1
        order = {"id": order_id, "phone": f"+4477009{order_id % 100000:05d}", "operator": "virtual21"}
        order |= {"product": product, "price": price, "status": status, "sms": [], "country": country}
        order |= {"created_at": "2025-06-01T12:00:00.000000Z", "expires": "2025-06-01T12:15:00.000000Z"}
        self.orders[order_id] = order
        return order

    def deliver(self, ref: str, code: str, at: str = "2025-06-01T12:01:02.123456Z") -> None:
        order = self.orders[int(ref)]
        sms = {
            "created_at": at,
            "date": at,
            "sender": "WhatsApp",
            "text": f"WhatsApp code {code}",
            "code": code,
        }
        order["sms"].append(sms)
        order["status"] = "RECEIVED"

    def buy(self, country: str, operator: str, product: str, max_price: str | None) -> Reply:
        if country not in self.countries:
            return plain("bad country")
        if (country, product) not in self.stock:
            return plain("no free phones")
        price, _ = self.stock[(country, product)]
        if max_price is not None and Decimal(max_price) < Decimal(price):
            return plain("no free phones")
        if self.balance < Decimal(price):
            return plain("not enough user balance")
        order = self.add_order(country, product, price)
        order["status"] = "RECEIVED"
        return self.as_json(order)

    def act(self, action: str, order_id: int) -> Reply:
        order = self.orders.get(order_id)
        if order is None:
            return plain("order not found")
        if action == "cancel" and order["sms"]:
            return plain("order has sms")
        if action != "check":
            order["status"] = {"cancel": "CANCELED", "finish": "FINISHED", "ban": "BANNED"}[action]
        return self.as_json(order)

    def order_list(self, limit: int, offset: int) -> Reply:
        newest_first = sorted(self.orders.values(), key=lambda o: -o["id"])
        page = newest_first[offset : offset + limit]
        rows = ",".join(self.as_json(o).body for o in page)
        return Reply(body=f'{{"Data":[{rows}],"ProductNames":[],"Statuses":[],"Total":{len(self.orders)}}}')

    @staticmethod
    def as_json(order: dict) -> Reply:
        """The order as 5sim writes it: prices are bare JSON numbers."""
        body = json.dumps({**order, "price": "@@"}).replace('"@@"', str(order["price"]))
        return Reply(body=body, content_type="application/json")


@pytest.fixture
def fake() -> FakeFiveSim:
    return FakeFiveSim()


@pytest.fixture
def stub(fake):
    with StubServer(fake.handle) as server:
        yield server


@pytest.fixture
def adapter(stub) -> FiveSimProvider:
    return FiveSimProvider(TOKEN, base_url=stub.url, timeout=2.0)


def buy(adapter: FiveSimProvider, service="wa", country=16, operator="any", max_cost=None) -> Purchase:
    return adapter.buy(service, country, operator, max_cost, reference="41")


def paths(stub: StubServer, prefix: str) -> list[str]:
    return [p for p in stub.paths() if p.startswith(prefix)]


# -- configuration and tables ----------------------------------------------------------


def test_the_kind_is_registered_and_defaults_to_5sim_net():
    row = type("Row", (), {"base_url": "", "api_key": TOKEN, "name": "5sim"})()
    adapter = KINDS["5sim"](row, {}, None, {})
    assert isinstance(adapter, FiveSimProvider) and adapter.url == "https://5sim.net"
    assert TOKEN not in repr(adapter)


def test_country_ids_map_to_5sim_slugs():
    slugs = country_slugs()
    assert (slugs[0], slugs[6], slugs[62], slugs[16], slugs[12], slugs[187]) == (
        "russia",
        "indonesia",
        "turkey",
        "england",
        "usa",
        "usa",
    )
    assert slugs[27] == "ivorycoast" and slugs[31] == "southafrica"


def test_every_popular_service_has_a_product_and_no_product_serves_two_services():
    assert {"wa", "tg", "go", "ig", "fb", "vk", "tw", "ds", "oi", "am", "mm", "ot"} <= set(PRODUCTS)
    assert (PRODUCTS["oi"], PRODUCTS["mm"], PRODUCTS["ot"]) == ("tinder", "microsoft", "other")
    assert len(set(PRODUCTS.values())) == len(PRODUCTS)


# -- buying ----------------------------------------------------------------------------


def test_a_purchase_returns_the_order_id_digits_only_phone_and_price(adapter, stub):
    bought = buy(adapter, max_cost=Decimal("0.50"))

    assert bought == Purchase(ref="11631253", phone="447700931253", cost=Decimal("0.1"))
    seen = stub.seen[-1]
    assert seen.path == "/v1/user/buy/activation/england/any/whatsapp"
    assert seen.query == {"maxPrice": "0.50", "reuse": "1"}  # reuse=1: reactivate() may buy it again
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("service", "country"), [("zz-unknown", 16), ("wa", 9999)])
def test_an_unmapped_service_or_country_has_no_numbers_without_asking(adapter, stub, service, country):
    with pytest.raises(NoNumbersError):
        buy(adapter, service=service, country=country)
    assert stub.seen == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (plain("no free phones"), NoNumbersError),
        (plain("no free phones", status=200), NoNumbersError),
        (plain("not enough rating"), NoNumbersError),
        (plain("not enough user balance"), OutOfFundsError),
        (plain("bad country"), PermanentProviderError),
        (plain("no product"), PermanentProviderError),
        (plain("", status=401), PermanentProviderError),
        (plain("something new"), PermanentProviderError),
        (plain("server offline", status=503), RetryableProviderError),
        (plain("", status=429), RetryableProviderError),
        (plain("<h1>Internal Server Error</h1>", status=500), RetryableProviderError),
        (plain("<h1>Gateway Timeout</h1>", status=504), AmbiguousPurchaseError),
        (plain("<html>", status=200), AmbiguousPurchaseError),
        (Reply.json({"id": 5, "phone": "+4477"}), AmbiguousPurchaseError),
    ],
)
def test_each_purchase_answer_maps_to_one_error_class(adapter, fake, reply, error):
    fake.scripted["/v1/user/buy/"] = reply
    with pytest.raises(error):
        buy(adapter)


def test_stock_balance_and_country_failures_come_from_the_upstream_logic(adapter, fake):
    with pytest.raises(NoNumbersError):
        buy(adapter, service="tg", country=16)
    with pytest.raises(PermanentProviderError, match="bad country"):
        buy(adapter, country=183)  # northmacedonia: not sold by this fake
    fake.balance = Decimal("0.05")
    with pytest.raises(OutOfFundsError):
        buy(adapter)


def test_a_wrong_token_is_a_permanent_error(stub):
    with pytest.raises(PermanentProviderError):
        buy(FiveSimProvider("wrong", base_url=stub.url))


def test_a_number_charged_above_the_maximum_is_given_back(adapter, fake, stub):
    order = fake.add_order(price="0.9", status="RECEIVED")
    fake.scripted["/v1/user/buy/"] = fake.as_json(order)

    with pytest.raises(PriceTooHighError):
        buy(adapter, max_cost=Decimal("0.5"))
    assert fake.orders[order["id"]]["status"] == "CANCELED"


def test_a_refused_connection_is_retryable_even_for_a_purchase():
    adapter = FiveSimProvider(TOKEN, base_url=closed_port_url(), timeout=0.5)
    with pytest.raises(RetryableProviderError):
        buy(adapter)


def test_a_read_timeout_on_a_purchase_is_ambiguous(fake, stub):
    fake.scripted["/v1/user/buy/"] = Reply(body="{}", delay=1.0)
    with pytest.raises(AmbiguousPurchaseError):
        buy(FiveSimProvider(TOKEN, base_url=stub.url, timeout=0.3))


def test_a_connection_dropped_after_sending_a_purchase_is_ambiguous(adapter, fake):
    fake.scripted["/v1/user/buy/"] = Reply(hang_up=True)
    with pytest.raises(AmbiguousPurchaseError):
        buy(adapter)


# -- statuses --------------------------------------------------------------------------


def test_statuses_of_many_orders_take_one_order_list_call(adapter, fake, stub):
    refs = [buy(adapter).ref for _ in range(5)]
    fake.deliver(refs[1], "123456")
    before = len(stub.seen)

    answer = adapter.statuses(refs)

    assert len(stub.seen) - before == 1 and stub.seen[-1].path == "/v1/user/orders"
    assert stub.seen[-1].query == {
        "category": "activation",
        "limit": str(PAGE_SIZE),
        "offset": "0",
        "order": "id",
        "reverse": "true",
    }
    assert [answer[ref].state for ref in refs] == [WAITING, RECEIVED, WAITING, WAITING, WAITING]
    message = answer[refs[1]].messages[0]
    assert (message.code, message.text) == ("123456", "WhatsApp code 123456")
    assert message.received_at.isoformat() == "2025-06-01T12:01:02.123456"


def test_older_orders_are_found_on_the_next_page(adapter, fake, stub):
    oldest = str(fake.add_order()["id"])
    for _ in range(PAGE_SIZE + 10):
        fake.add_order()

    answer = adapter.statuses([oldest])

    assert answer[oldest].state == WAITING
    assert paths(stub, "/v1/user/orders") == ["/v1/user/orders"] * 2
    assert paths(stub, "/v1/user/check/") == []


def test_orders_missing_from_the_list_are_checked_one_by_one(adapter, fake, stub):
    listed = str(fake.add_order()["id"])
    fake.scripted["/v1/user/orders"] = Reply(body='{"Data":[],"Total":0}')

    answer = adapter.statuses([listed, "42"])

    assert sorted(paths(stub, "/v1/user/check/")) == [f"/v1/user/check/{listed}", "/v1/user/check/42"]
    assert answer[listed].state == WAITING
    assert "42" not in answer  # 5sim does not know it: left out


@pytest.mark.parametrize(
    ("status", "with_sms", "state"),
    [
        ("PENDING", False, WAITING),
        ("RECEIVED", False, WAITING),  # 5sim's RECEIVED: number handed out, no SMS yet
        ("RECEIVED", True, RECEIVED),
        ("CANCELED", False, CANCELED),
        ("TIMEOUT", False, CANCELED),
        ("BANNED", False, CANCELED),
        ("TIMEOUT", True, RECEIVED),  # a code came: charged, our side completes it
        ("FINISHED", True, FINISHED),
    ],
)
def test_5sim_order_states_map_to_ours(adapter, fake, status, with_sms, state):
    ref = str(fake.add_order()["id"])
    if with_sms:
        fake.deliver(ref, "777")
    fake.orders[int(ref)]["status"] = status
    assert adapter.statuses([ref])[ref].state == state


def test_a_message_keeps_its_id_across_polls_and_endpoints(adapter, fake):
    ref = buy(adapter).ref
    fake.deliver(ref, "111111")
    first = adapter.statuses([ref])[ref].messages
    second = adapter.statuses([ref])[ref].messages
    fake.scripted["/v1/user/orders"] = Reply(body='{"Data":[],"Total":0}')
    via_check = adapter.statuses([ref])[ref].messages
    fake.scripted.clear()
    fake.deliver(ref, "222222", at="2025-06-01T12:03:00Z")
    third = adapter.statuses([ref])[ref].messages

    assert [m.id for m in first] == [m.id for m in second] == [m.id for m in via_check]
    assert len(third) == 2 and third[0].id == first[0].id and third[1].id != first[0].id


def test_a_failing_order_list_fails_the_poll(adapter, fake):
    fake.scripted["/v1/user/orders"] = plain("", status=502)
    with pytest.raises(RetryableProviderError):
        adapter.statuses(["1"])


# -- changing an order -----------------------------------------------------------------


def test_cancel_and_finish_call_their_endpoints(adapter, fake, stub):
    dropped, done = buy(adapter).ref, buy(adapter).ref
    fake.deliver(done, "1234")

    adapter.cancel(dropped)
    adapter.finish(done)

    assert paths(stub, "/v1/user/cancel/") == [f"/v1/user/cancel/{dropped}"]
    assert paths(stub, "/v1/user/finish/") == [f"/v1/user/finish/{done}"]
    assert (fake.orders[int(dropped)]["status"], fake.orders[int(done)]["status"]) == ("CANCELED", "FINISHED")


def test_asking_for_another_code_needs_no_call(adapter, stub):
    adapter.request_another("11631253")
    assert stub.seen == []


@pytest.mark.parametrize("answer", ["order not found", "order expired"])
def test_cancelling_what_is_already_gone_is_not_an_error(adapter, fake, answer):
    fake.scripted["/v1/user/cancel/"] = plain(answer)
    adapter.cancel("11631253")


def test_cancelling_an_order_that_has_its_sms_is_refused(adapter, fake):
    ref = buy(adapter).ref
    fake.deliver(ref, "1234")
    with pytest.raises(PermanentProviderError, match="order has sms"):
        adapter.cancel(ref)


def test_cancelling_too_early_is_retryable(adapter, fake):
    fake.scripted["/v1/user/cancel/"] = plain("you need to wait time")
    with pytest.raises(RetryableProviderError):
        adapter.cancel("11631253")


# -- catalogue and account -------------------------------------------------------------


def test_prices_parse_to_exact_decimals_for_mapped_countries_and_products(adapter, stub):
    quotes = adapter.prices()

    assert sorted(quotes, key=lambda q: (q.country_id, q.service)) == [
        Quote(service="tg", country_id=12, operator="virtual8", cost=Decimal("12.5085"), stock=7),
        Quote(service="wa", country_id=16, operator="virtual21", cost=Decimal("0.1"), stock=40),
        Quote(service="tg", country_id=187, operator="virtual8", cost=Decimal("12.5085"), stock=7),
    ]
    assert all(type(q.cost) is Decimal for q in quotes)
    assert "Authorization" not in stub.seen[-1].headers  # a guest endpoint


def test_balance_is_a_decimal(adapter):
    assert adapter.balance() == Decimal("100.5")


# -- the token stays secret ------------------------------------------------------------


def test_the_token_never_appears_in_an_error(fake, stub):
    fake.scripted["/v1/user/profile"] = Reply(body=TOKEN, delay=1.0)
    attempts = [
        lambda: buy(FiveSimProvider(TOKEN, base_url=closed_port_url(), timeout=0.5)),
        lambda: FiveSimProvider(TOKEN, base_url=stub.url, timeout=0.3).balance(),
        lambda: FiveSimProvider(TOKEN, base_url="not a url").balance(),
        lambda: buy(FiveSimProvider(TOKEN, base_url=stub.url), country=183),
    ]
    for attempt in attempts:
        with pytest.raises(ProviderError) as caught:
            attempt()
        for link in filter(None, [caught.value, caught.value.__cause__, caught.value.__context__]):
            assert TOKEN not in str(link) and TOKEN not in repr(link)
