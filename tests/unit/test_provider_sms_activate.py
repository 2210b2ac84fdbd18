"""The SMS-Activate protocol adapter against a local upstream that answers like the reference."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from smsbulk.providers import KINDS
from smsbulk.providers.base import (
    CANCELED,
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
from smsbulk.providers.sms_activate import SmsActivateProvider, normalise_base_url, transport_error
from tests.stubs import Reply, Seen, StubServer, closed_port_url

KEY = "Zq8SecretKey0123456789abcdefABCD"  # 32 alphanumerics, like a real key


class FakeSmsActivate:
    """An SMS-Activate upstream in memory: stock, activations and their SMS.

    `scripted[action]` overrides the logic with a canned reply for that action."""

    def __init__(self) -> None:
        self.balance = "12.34"
        # country id -> service -> (cost as JSON text, count)
        self.stock = {"6": {"tg": ("0.25", 120)}, "16": {"wa": ("12.5085", 3), "tg": ("0.1", 0)}}
        self.activations: dict[str, dict] = {}
        self.next_id = 635468024
        self.scripted: dict[str, Reply] = {}
        self.knows_v2 = True

    def handle(self, seen: Seen) -> Reply:
        q = seen.query
        if q.get("api_key") != KEY:
            return Reply(body="BAD_KEY")
        action = q.get("action", "")
        if action in self.scripted:
            return self.scripted[action]
        if action == "getNumberV2" and not self.knows_v2:
            return Reply(body="BAD_ACTION")
        method = getattr(self, f"do_{action}", None)
        return method(q) if method else Reply(body="BAD_ACTION")

    def deliver(self, ref: str, code: str, text: str) -> None:
        """An SMS reaches the number."""
        self.activations[ref]["sms"].append((code, text))
        self.activations[ref]["state"] = "received"

    def do_getBalance(self, q: dict) -> Reply:
        return Reply(body=f"ACCESS_BALANCE:{self.balance}")

    def do_getPrices(self, q: dict) -> Reply:
        rows = [
            f'"{country}":{{' + ",".join(f'"{s}":{{"cost":{c},"count":{n}}}' for s, (c, n) in services.items()) + "}"
            for country, services in self.stock.items()
            if q.get("country") in (None, country)
        ]
        return Reply(body="{" + ",".join(rows) + "}", content_type="application/json")

    def _take(self, q: dict) -> tuple[str, dict] | Reply:
        cost, count = self.stock.get(q.get("country", ""), {}).get(q.get("service", ""), ("0", 0))
        if not count:
            return Reply(body="NO_NUMBERS")
        if "maxPrice" in q and Decimal(q["maxPrice"]) < Decimal(cost):
            return Reply(body=f"WRONG_MAX_PRICE:{cost}")
        ref, self.next_id = str(self.next_id), self.next_id + 1
        phone = f"62812{ref[-7:]}"
        self.activations[ref] = {"phone": phone, "cost": cost, "state": "waiting", "sms": []}
        return ref, self.activations[ref]

    def do_getNumber(self, q: dict) -> Reply:
        taken = self._take(q)
        return taken if isinstance(taken, Reply) else Reply(body=f"ACCESS_NUMBER:{taken[0]}:{taken[1]['phone']}")

    def do_getNumberV2(self, q: dict) -> Reply:
        taken = self._take(q)
        if isinstance(taken, Reply):
            return taken
        ref, row = taken
        return Reply.json(
            {
                "activationId": ref,
                "phoneNumber": row["phone"],
                "activationCost": row["cost"],
                "currency": 840,
                "countryCode": q["country"],
                "canGetAnotherSms": True,
                "activationTime": "2025-06-01 12:00:00",
                "activationOperator": "any",
            }
        )

    def do_getActiveActivations(self, q: dict) -> Reply:
        rows = [
            {
                "activationId": ref,
                "serviceCode": "tg",
                "phoneNumber": row["phone"],
                "activationCost": row["cost"],
                "activationStatus": "4",
                "smsCode": row["sms"][-1][0] if row["sms"] else None,
                "smsText": row["sms"][-1][1] if row["sms"] else None,
            }
            for ref, row in self.activations.items()
            if row["state"] in ("waiting", "received", "retry")
        ]
        if not rows:
            return Reply.json({"status": "error", "error": "NO_ACTIVATIONS"})
        return Reply.json({"status": "success", "activeActivations": rows})

    def do_getStatus(self, q: dict) -> Reply:
        row = self.activations.get(q.get("id", ""))
        if row is None:
            return Reply(body="NO_ACTIVATION")
        last = row["sms"][-1][0] if row["sms"] else None
        answer = {
            "waiting": "STATUS_WAIT_CODE",
            "received": f"STATUS_OK:{last}",
            "retry": f"STATUS_WAIT_RETRY:{last}",
            "canceled": "STATUS_CANCEL",
            "finished": f"STATUS_OK:{last}" if last else "STATUS_CANCEL",
        }[row["state"]]
        return Reply(body=answer)

    def do_setStatus(self, q: dict) -> Reply:
        row = self.activations.get(q.get("id", ""))
        if row is None:
            return Reply(body="NO_ACTIVATION")
        moves = {
            ("8", "waiting"): ("canceled", "ACCESS_CANCEL"),
            ("6", "received"): ("finished", "ACCESS_ACTIVATION"),
            ("6", "retry"): ("finished", "ACCESS_ACTIVATION"),
            ("3", "received"): ("retry", "ACCESS_RETRY_GET"),
        }
        move = moves.get((q.get("status"), row["state"]))
        if move is None:
            return Reply(body="BAD_STATUS")
        row["state"] = move[0]
        return Reply(body=move[1])


@pytest.fixture
def fake() -> FakeSmsActivate:
    return FakeSmsActivate()


@pytest.fixture
def stub(fake):
    with StubServer(fake.handle) as server:
        yield server


@pytest.fixture
def adapter(stub) -> SmsActivateProvider:
    return SmsActivateProvider(stub.url, KEY, timeout=2.0)


def buy(adapter: SmsActivateProvider, service="tg", country=6, max_cost=None) -> Purchase:
    return adapter.buy(service, country, "any", max_cost, reference="41")


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["https://hero-sms.com", "https://hero-sms.com/", "https://hero-sms.com/stubs/handler_api.php"],
)
def test_the_base_url_may_be_given_with_or_without_the_handler_path(given):
    assert normalise_base_url(given) == "https://hero-sms.com/stubs/handler_api.php"


def test_the_kind_is_registered_and_built_from_a_provider_row():
    row = type("Row", (), {"base_url": "https://smsbower.page/", "api_key": KEY, "name": "bower"})()
    adapter = KINDS["sms-activate"](row, {}, None, {})
    assert isinstance(adapter, SmsActivateProvider)
    assert adapter.url == "https://smsbower.page/stubs/handler_api.php"
    assert KEY not in repr(adapter)


# -- buying ----------------------------------------------------------------------------


def test_a_purchase_returns_the_activation_phone_and_charged_cost(adapter, stub):
    bought = buy(adapter, max_cost=Decimal("0.30"))

    assert bought == Purchase(ref="635468024", phone="628125468024", cost=Decimal("0.25"))
    sent = stub.seen[-1].query
    assert sent["action"] == "getNumberV2"
    assert (sent["service"], sent["country"], sent["maxPrice"], sent["orderId"]) == ("tg", "6", "0.30", "41")
    assert "operator" not in sent  # "any" is the upstream's default, not a value to send


def test_a_named_operator_is_passed_on(adapter, stub):
    adapter.buy("tg", 6, "telkomsel", None, reference="41")
    assert stub.seen[-1].query["operator"] == "telkomsel"


def test_an_upstream_without_getnumberv2_is_asked_getnumber_with_the_listed_price(adapter, fake, stub):
    fake.knows_v2 = False

    first, second = buy(adapter), buy(adapter)

    assert (first.ref, first.phone, first.cost) == ("635468024", "628125468024", Decimal("0.25"))
    assert second.ref == "635468025"
    assert stub.count(action="getNumberV2") == 1  # learnt once, not asked on every purchase
    assert stub.count(action="getNumber") == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("NO_NUMBERS", NoNumbersError),
        ("CHANNELS_LIMIT", NoNumbersError),
        ("NO_BALANCE", OutOfFundsError),
        ("WRONG_MAX_PRICE:0.5", PriceTooHighError),
        ("BAD_KEY", PermanentProviderError),
        ("BAD_SERVICE", PermanentProviderError),
        ("BANNED:'2025-6-1 12-00-00'", PermanentProviderError),
        ("SOME_NEW_TOKEN", PermanentProviderError),
        ("ERROR_SQL", RetryableProviderError),
        ("RATE_LIMITED", RetryableProviderError),
        ("ORDER_ALREADY_EXISTS", AmbiguousPurchaseError),
        ("<html>502 Bad Gateway</html>", AmbiguousPurchaseError),
        ("", AmbiguousPurchaseError),
        ('{"activationId":"1","phoneNumber":"62', AmbiguousPurchaseError),
        ('{"status":"error","error":"NO_NUMBERS"}', NoNumbersError),
        ("ACCESS_NUMBER:12:", AmbiguousPurchaseError),
        ("ACCESS_SOMETHING_NEW", AmbiguousPurchaseError),
    ],
)
def test_each_purchase_answer_maps_to_one_error_class(adapter, fake, answer, error):
    fake.scripted["getNumberV2"] = Reply(body=answer)
    with pytest.raises(error):
        buy(adapter)


def test_a_plain_access_number_from_getnumberv2_is_a_purchase_at_the_listed_price(adapter, fake):
    fake.scripted["getNumberV2"] = Reply(body="ACCESS_NUMBER:77:6281234567890")
    assert buy(adapter) == Purchase(ref="77", phone="6281234567890", cost=Decimal("0.25"))


def test_no_stock_and_a_low_max_price_come_from_the_upstream_logic(adapter):
    with pytest.raises(NoNumbersError):
        buy(adapter, service="tg", country=16)
    with pytest.raises(PriceTooHighError, match="WRONG_MAX_PRICE:12.5085"):
        buy(adapter, service="wa", country=16, max_cost=Decimal("1.00"))


def test_a_wrong_key_is_a_permanent_error(stub):
    with pytest.raises(PermanentProviderError, match="BAD_KEY"):
        buy(SmsActivateProvider(stub.url, "wrong" * 6 + "xx"))


def test_a_clone_error_envelope_with_a_4xx_status_is_read_like_the_plain_token(adapter, fake):
    fake.scripted["getNumberV2"] = Reply.json({"status": "error", "error": "NO_BALANCE"}, status=402)
    with pytest.raises(OutOfFundsError):
        buy(adapter)


@pytest.mark.parametrize(("status", "error"), [(500, RetryableProviderError), (503, RetryableProviderError)])
def test_a_server_error_before_a_purchase_is_retryable(adapter, fake, status, error):
    fake.scripted["getNumberV2"] = Reply(status=status, body="<h1>oops</h1>")
    with pytest.raises(error):
        buy(adapter)


def test_a_gateway_timeout_on_a_purchase_is_ambiguous(adapter, fake):
    fake.scripted["getNumberV2"] = Reply(status=504, body="<h1>Gateway Timeout</h1>")
    with pytest.raises(AmbiguousPurchaseError):
        buy(adapter)


def test_a_refused_connection_is_retryable_even_for_a_purchase():
    adapter = SmsActivateProvider(closed_port_url(), KEY, timeout=0.5)
    with pytest.raises(RetryableProviderError):
        buy(adapter)
    with pytest.raises(RetryableProviderError):
        adapter.balance()


def test_a_read_timeout_on_a_purchase_is_ambiguous(fake, stub):
    fake.scripted["getNumberV2"] = Reply(body="ACCESS_NUMBER:1:2", delay=1.0)
    with pytest.raises(AmbiguousPurchaseError):
        buy(SmsActivateProvider(stub.url, KEY, timeout=0.3))


def test_a_read_timeout_elsewhere_is_retryable(fake, stub):
    fake.scripted["getBalance"] = Reply(body="ACCESS_BALANCE:1.00", delay=1.0)
    with pytest.raises(RetryableProviderError):
        SmsActivateProvider(stub.url, KEY, timeout=0.3).balance()


def test_a_connection_dropped_after_sending_a_purchase_is_ambiguous(adapter, fake):
    fake.scripted["getNumberV2"] = Reply(hang_up=True)
    with pytest.raises(AmbiguousPurchaseError):
        buy(adapter)


def test_a_connect_timeout_proves_nothing_was_sent():
    error, _ = transport_error(requests.ConnectTimeout("connect timed out"), purchase=True, secret=KEY, label="x")
    assert isinstance(error, RetryableProviderError)


# -- statuses --------------------------------------------------------------------------


def test_statuses_of_many_open_activations_take_one_upstream_call(adapter, fake, stub):
    refs = [buy(adapter).ref for _ in range(5)]
    fake.deliver(refs[0], "54321", "Telegram code 54321")
    fake.deliver(refs[3], "11111", "Telegram code 11111")
    before = len(stub.seen)

    answer = adapter.statuses(refs)

    assert len(stub.seen) - before == 1
    assert stub.seen[-1].query["action"] == "getActiveActivations"
    assert [answer[ref].state for ref in refs] == [RECEIVED, WAITING, WAITING, RECEIVED, WAITING]
    message = answer[refs[0]].messages[0]
    assert (message.code, message.text) == ("54321", "Telegram code 54321")


def test_refs_missing_from_the_active_list_are_asked_one_by_one(adapter, fake, stub):
    done, dropped, open_ = (buy(adapter).ref for _ in range(3))
    fake.deliver(done, "777", "code 777")
    adapter.finish(done)
    adapter.cancel(dropped)

    answer = adapter.statuses([done, dropped, open_, "999"])

    assert stub.count(action="getActiveActivations") == 1
    assert stub.count(action="getStatus") == 3  # done, dropped and the unknown one
    assert answer[done].state == RECEIVED and answer[done].messages[0].code == "777"
    assert answer[dropped].state == CANCELED
    assert answer[open_].state == WAITING
    assert "999" not in answer  # unknown upstream: left out


def test_no_open_activations_is_an_empty_list_not_an_error(adapter, fake):
    ref = buy(adapter).ref
    adapter.cancel(ref)
    assert adapter.statuses([ref])[ref].state == CANCELED


def test_a_message_keeps_its_id_across_polls_and_a_new_code_gets_a_new_one(adapter, fake):
    ref = buy(adapter).ref
    fake.deliver(ref, "54321", "Telegram code 54321")
    first = adapter.statuses([ref])[ref].messages
    second = adapter.statuses([ref])[ref].messages
    adapter.request_another(ref)
    fake.deliver(ref, "98765", "Telegram code 98765")
    third = adapter.statuses([ref])[ref].messages

    assert [m.id for m in first] == [m.id for m in second]
    assert third[0].code == "98765" and third[0].id != first[0].id


def test_the_same_sms_has_the_same_id_in_the_active_list_and_from_getstatus(adapter, fake):
    ref = buy(adapter).ref
    fake.deliver(ref, "54321", "Telegram code 54321")
    from_list = adapter.statuses([ref])[ref].messages[0]
    adapter.finish(ref)
    from_status = adapter.statuses([ref])[ref].messages[0]
    assert from_list.id == from_status.id


def test_an_unreachable_upstream_fails_the_poll_instead_of_answering_nothing():
    with pytest.raises(RetryableProviderError):
        SmsActivateProvider(closed_port_url(), KEY, timeout=0.5).statuses(["1", "2"])


# -- changing an activation ------------------------------------------------------------


def test_cancel_finish_and_another_code_send_their_status_codes(adapter, fake, stub):
    cancelled, finished = buy(adapter).ref, buy(adapter).ref
    fake.deliver(finished, "1234", "code 1234")

    adapter.cancel(cancelled)
    adapter.request_another(finished)
    adapter.finish(finished)

    sent = [(s.query["id"], s.query["status"]) for s in stub.seen if s.query.get("action") == "setStatus"]
    assert sent == [(cancelled, "8"), (finished, "3"), (finished, "6")]
    assert fake.activations[cancelled]["state"] == "canceled"
    assert fake.activations[finished]["state"] == "finished"


def test_an_early_cancel_refusal_is_retryable(adapter, fake):
    fake.scripted["setStatus"] = Reply(body="EARLY_CANCEL_DENIED")
    with pytest.raises(RetryableProviderError):
        adapter.cancel(buy(adapter).ref)


@pytest.mark.parametrize("answer", ["NO_ACTIVATION", "BAD_STATUS"])
def test_cancelling_what_is_already_gone_is_not_an_error(adapter, fake, answer):
    fake.scripted["setStatus"] = Reply(body=answer)
    adapter.cancel("635468024")


def test_finishing_an_unknown_activation_is_an_error(adapter):
    with pytest.raises(PermanentProviderError, match="NO_ACTIVATION"):
        adapter.finish("1")


# -- catalogue and account -------------------------------------------------------------


def test_prices_parse_to_exact_decimals(adapter):
    quotes = adapter.prices()
    assert sorted(quotes, key=lambda q: (q.country_id, q.service)) == [
        Quote(service="tg", country_id=6, operator="any", cost=Decimal("0.25"), stock=120),
        Quote(service="tg", country_id=16, operator="any", cost=Decimal("0.1"), stock=0),
        Quote(service="wa", country_id=16, operator="any", cost=Decimal("12.5085"), stock=3),
    ]
    assert all(type(q.cost) is Decimal for q in quotes)


def test_balance_is_a_decimal(adapter):
    assert adapter.balance() == Decimal("12.34")


def test_a_non_balance_answer_is_an_error(adapter, fake):
    fake.scripted["getBalance"] = Reply(body=json.dumps({"status": "error", "error": "BAD_KEY"}), status=401)
    with pytest.raises(PermanentProviderError):
        adapter.balance()


# -- the key stays secret --------------------------------------------------------------


def _failures(stub_url: str) -> list[ProviderError]:
    attempts = [
        lambda: buy(SmsActivateProvider(closed_port_url(), KEY, timeout=0.5)),
        lambda: SmsActivateProvider(closed_port_url(), KEY, timeout=0.5).statuses(["1"]),
        lambda: buy(SmsActivateProvider(stub_url, KEY, timeout=0.3)),  # read timeout
        lambda: buy(SmsActivateProvider(stub_url + "/dropped", KEY)),
        lambda: SmsActivateProvider(stub_url, KEY).finish("1"),
        lambda: SmsActivateProvider("not a url", KEY).balance(),
    ]
    errors = []
    for attempt in attempts:
        with pytest.raises(ProviderError) as caught:
            attempt()
        errors.append(caught.value)
    return errors


def test_the_api_key_never_appears_in_an_error(fake, stub):
    def slow_or_dropped(seen: Seen) -> Reply:
        if seen.path.startswith("/dropped"):
            return Reply(hang_up=True)
        if seen.query.get("action") == "getNumberV2":
            return Reply(body=f"{KEY}", delay=1.0)
        return fake.handle(seen)

    stub.handler = slow_or_dropped
    for error in _failures(stub.url):
        chain = [error, error.__cause__, error.__context__]
        for link in filter(None, chain):
            assert KEY not in str(link) and KEY not in repr(link), type(error).__name__
