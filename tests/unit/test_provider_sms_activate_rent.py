"""The SMS-Activate protocol adapter's rent and extra-activation actions, against a local upstream."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsbulk.providers.base import (
    ACTIVE,
    CANCELED,
    FINISHED,
    REVOKED,
    AmbiguousPurchaseError,
    NoNumbersError,
    OutOfFundsError,
    PermanentProviderError,
    PriceTooHighError,
    Purchase,
    RentQuote,
    UnsupportedError,
)
from smsbulk.providers.sms_activate import SmsActivateProvider
from smsbulk.providers.sms_activate_rent import code_in
from tests.stubs import Reply, Seen, StubServer

KEY = "Rq8SecretKey0123456789abcdefABCD"
ENDED = {"finished": "STATUS_FINISH", "canceled": "STATUS_CANCEL", "revoked": "STATUS_REVOKE"}


def rent_error(token: str) -> Reply:
    return Reply.json({"status": "error", "message": token})


class FakeRentUpstream:
    """An upstream that rents in Russia (0) and the UK (16), with the SMS of each rental."""

    def __init__(self) -> None:
        self.rentals: dict[str, dict] = {}
        self.next_id = 1049
        self.scripted: dict[str, Reply] = {}
        self.extra: dict[str, dict] = {"635468024": {"cost": "0.25", "service": "tw", "phone": "447700900123"}}

    def handle(self, seen: Seen) -> Reply:
        q = seen.query
        if q.get("api_key") != KEY:
            return Reply(body="BAD_KEY")
        action = q.get("action", "")
        if action in self.scripted:
            return self.scripted[action]
        method = getattr(self, f"do_{action}", None)
        return method(q) if method else Reply(body="BAD_ACTION")

    def do_getRentServicesAndCountries(self, q: dict) -> Reply:
        hours = int(q.get("rent_time", "2"))
        country = q.get("country", "0")
        if country not in ("0", "16"):
            return rent_error("OUT_OF_STOCK")
        services = {"full": (Decimal("0.5") * hours, 20), "wa": (Decimal("0.1") * hours, 3)}
        rows = ",".join(f'"{code}":{{"cost":{cost},"quant":{count}}}' for code, (cost, count) in services.items())
        body = f'{{"countries":{{"0":0,"1":16}},"operators":{{"0":"any"}},"services":{{{rows}}},"currency":840}}'
        return Reply(body=body, content_type="application/json")

    def do_getRentNumber(self, q: dict) -> Reply:
        if q.get("service") not in ("full", "wa") or q.get("country") not in ("0", "16"):
            return rent_error("NO_NUMBERS")
        ref, self.next_id = str(self.next_id), self.next_id + 1
        self.rentals[ref] = {"state": "active", "sms": [], "hours": int(q["rent_time"])}
        phone = {"id": int(ref), "endDate": "2020-01-31T12:01:52", "number": f"7995970{ref}"}
        return Reply.json({"status": "success", "phone": phone})

    def do_getRentStatus(self, q: dict) -> Reply:
        rental = self.rentals.get(q.get("id", ""))
        if rental is None:
            return rent_error("NO_ID_RENT")
        if rental["state"] != "active":
            return rent_error(ENDED[rental["state"]])
        if not rental["sms"]:
            return rent_error("STATUS_WAIT_CODE")
        values = {str(n): sms for n, sms in enumerate(reversed(rental["sms"]))}
        return Reply.json({"status": "success", "quantity": str(len(values)), "values": values})

    def do_getContinueRentPriceNumber(self, q: dict) -> Reply:
        return Reply(body=f'{{"status":"success","price":{Decimal("0.35") * int(q["rent_time"])},"currency":840}}')

    def do_continueRentNumber(self, q: dict) -> Reply:
        rental = self.rentals.get(q.get("id", ""))
        if rental is None or rental["state"] != "active":
            return rent_error("RENT_DIE")
        rental["hours"] += int(q["rent_time"])
        phone = {"id": int(q["id"]), "endDate": "2020-02-01T12:01:52", "number": f"7995970{q['id']}"}
        return Reply.json({"status": "success", "phone": phone})

    def do_setRentStatus(self, q: dict) -> Reply:
        rental = self.rentals.get(q.get("id", ""))
        if rental is None:
            return rent_error("NO_ID_RENT")
        if rental["state"] != "active":
            return rent_error("ALREADY_FINISH" if rental["state"] == "finished" else "ALREADY_CANCEL")
        rental["state"] = {"1": "finished", "2": "canceled"}[q["status"]]
        return Reply.json({"status": "success"})

    def do_checkExtraActivation(self, q: dict) -> Reply:
        row = self.extra.get(q.get("activationId", ""))
        if row is None:
            return Reply(body="RENEW_ACTIVATION_NOT_AVAILABLE")
        answer = f'"cost":{row["cost"]},"service":"{row["service"]}","phone":{row["phone"]},"country":16'
        return Reply(body=f'{{"status":"success",{answer}}}')

    def do_getExtraActivation(self, q: dict) -> Reply:
        row = self.extra.get(q.get("activationId", ""))
        return Reply(body=f"ACCESS_NUMBER:635468099:{row['phone']}" if row else "RENEW_ACTIVATION_NOT_AVAILABLE")


@pytest.fixture
def fake() -> FakeRentUpstream:
    return FakeRentUpstream()


@pytest.fixture
def stub(fake):
    with StubServer(fake.handle) as server:
        yield server


@pytest.fixture
def adapter(stub) -> SmsActivateProvider:
    return SmsActivateProvider(stub.url, KEY, timeout=2.0)


def sms(text: str, sender: str = "79180230628", service: str = "wa", date: str = "2020-01-30 14:31:58") -> dict:
    return {"phoneFrom": sender, "text": text, "service": service, "date": date}


def test_rent_prices_list_the_countries_then_quote_each_for_every_length(adapter, stub):
    quotes = adapter.rent_prices([4, 24])
    assert RentQuote("full", 16, "any", 24, Decimal("12.0"), 20) in quotes
    assert RentQuote("wa", 0, "any", 4, Decimal("0.4"), 3) in quotes
    assert len(quotes) == 8 and all(q.any_hours for q in quotes)
    assert stub.count(action="getRentServicesAndCountries") == 6  # per length: the list, then each country
    assert stub.count(action="getRentServicesAndCountries", rent_time="24", country="16") == 1


def test_an_upstream_without_rentals_quotes_none_and_refuses_to_rent_clearly(adapter, fake):
    fake.scripted["getRentServicesAndCountries"] = Reply(body="BAD_ACTION")
    fake.scripted["getRentNumber"] = Reply(body="BAD_ACTION")
    assert adapter.rent_prices([4]) == []
    with pytest.raises(UnsupportedError):
        adapter.rent("wa", 16, "any", 4, Decimal("1"), "1")


def test_renting_answers_the_rental_id_and_number_at_the_budgeted_cost(adapter, stub):
    rented = adapter.rent("wa", 16, "any", 4, Decimal("0.40"), "7")
    assert (rented.ref, rented.phone, rented.cost) == ("1049", "79959701049", Decimal("0.40"))
    seen = stub.seen[-1].query
    assert (seen["action"], seen["service"], seen["country"], seen["rent_time"]) == ("getRentNumber", "wa", "16", "4")
    assert "operator" not in seen


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (rent_error("NO_NUMBERS"), NoNumbersError),
        (rent_error("NO_BALANCE"), OutOfFundsError),
        (rent_error("BAD_SERVICE"), PermanentProviderError),
        (Reply.json({"status": "success"}), AmbiguousPurchaseError),  # no phone object: it may be ours
        (Reply(hang_up=True), AmbiguousPurchaseError),
    ],
)
def test_a_refused_or_unclear_rental_is_told_apart(adapter, fake, reply, error):
    fake.scripted["getRentNumber"] = reply
    with pytest.raises(error):
        adapter.rent("wa", 16, "any", 4, Decimal("1"), "1")


def test_rent_statuses_read_every_sms_with_its_code_and_the_rentals_that_ended(adapter, fake):
    refs = [adapter.rent("wa", 16, "any", 4, None, str(n)).ref for n in range(5)]
    fake.rentals[refs[1]]["sms"] += [sms("Your code is 123456"), sms("Telegram code: 771-991 ok", service="tg")]
    for ref, state in zip(refs[2:], ("finished", "canceled", "revoked"), strict=True):
        fake.rentals[ref]["state"] = state
    answer = adapter.rent_statuses([*refs, "999"])
    assert set(answer) == set(refs)  # the unknown id is left out
    assert [answer[ref].state for ref in refs] == [ACTIVE, ACTIVE, FINISHED, CANCELED, REVOKED]
    assert answer[refs[0]].messages == []
    got = answer[refs[1]].messages
    assert [(m.code, m.sender, m.service) for m in got] == [
        ("771991", "79180230628", "tg"),
        ("123456", "79180230628", "wa"),
    ]
    again = adapter.rent_statuses([refs[1]])[refs[1]].messages
    assert [m.id for m in again] == [m.id for m in got]  # the same SMS keeps its id across polls


def test_extending_quotes_then_continues_the_rental(adapter, fake, stub):
    rented = adapter.rent("full", 0, "any", 4, None, "1")
    assert adapter.extension_cost(rented.ref, 24) == Decimal("8.40")
    longer = adapter.extend_rent(rented.ref, 24, Decimal("8.40"))
    assert (longer.ref, longer.cost) == (rented.ref, Decimal("8.40")) and fake.rentals[rented.ref]["hours"] == 28
    adapter.finish_rent(rented.ref)
    with pytest.raises(PermanentProviderError, match="RENT_DIE"):
        adapter.extend_rent(rented.ref, 4, None)


def test_finishing_or_cancelling_a_rental_that_is_over_already_is_not_an_error(adapter, fake):
    rented = adapter.rent("wa", 0, "any", 4, None, "1")
    adapter.cancel_rent(rented.ref)
    assert fake.rentals[rented.ref]["state"] == "canceled"
    adapter.cancel_rent(rented.ref)
    adapter.finish_rent(rented.ref)
    assert fake.rentals[rented.ref]["state"] == "canceled"


def test_reactivation_checks_the_price_then_buys_the_same_number_again(adapter, stub):
    assert adapter.reactivation_cost("635468024", "tw", 16, "447700900123") == Decimal("0.25")
    with pytest.raises(PriceTooHighError):
        adapter.reactivate("635468024", "tw", 16, "447700900123", Decimal("0.20"), "9")
    assert stub.count(action="getExtraActivation") == 0
    again = adapter.reactivate("635468024", "tw", 16, "447700900123", Decimal("0.25"), "9")
    assert again == Purchase(ref="635468099", phone="447700900123", cost=Decimal("0.25"))
    assert stub.seen[-1].query["activationId"] == stub.seen[-1].query["id"] == "635468024"


def test_a_number_that_cannot_be_reactivated_is_told_apart_from_an_upstream_that_cannot(adapter, fake):
    with pytest.raises(NoNumbersError):
        adapter.reactivation_cost("1", "tw", 16, "447700900123")
    fake.scripted["checkExtraActivation"] = Reply(body="BAD_ACTION")
    with pytest.raises(UnsupportedError):
        adapter.reactivate("635468024", "tw", 16, "447700900123", None, "9")


@pytest.mark.parametrize(
    ("text", "code"),
    [("Your code is 123456.", "123456"), ("Code: 123-456", "123456"), ("G-4821 is your code", "4821"), ("hi", None)],
)
def test_the_code_of_a_rental_sms_is_the_first_run_of_digits(text, code):
    assert code_in(text) == code
