"""The official `smsactivate` module's rent calls, unmodified, drive whole rentals against a real server."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import assert_ledger_exact, balance
from tests.legacy.test_client_libraries import base_url, official  # noqa: F401 - the server fixture

from .conftest import refunds_of


def money(value) -> Decimal:
    """A JSON number the module parsed as a float, back to its exact digits."""
    return Decimal(str(value))


def test_the_official_module_rents_reads_the_sms_extends_and_finishes(base_url, make_user, deliver_sms):  # noqa: F811
    account = make_user("30.00")
    api = official(account.key, base_url)
    catalogue = api.getRentServicesAndCountries(time=4, country=16)
    assert catalogue["currency"] == 840 and 16 in catalogue["countries"].values()
    assert catalogue["services"]["wa"]["quant"] == 100
    price = money(catalogue["services"]["wa"]["cost"])

    rented = api.getRentNumber(service="wa", time=4, country=16)
    assert rented["status"] == "success" and rented["phone"]["number"].startswith("44")
    rental_id = rented["phone"]["id"]
    assert api.getRentStatus(id=rental_id)["message"] == "STATUS_WAIT_CODE"
    deliver_sms()
    status = api.getRentStatus(id=rental_id)
    assert status["status"] == "success" and status["quantity"] == "1"
    assert "verification code" in status["values"]["0"]["text"] and status["values"]["0"]["service"] == "wa"
    assert api.getRentList()["values"]["0"] == {"id": str(rental_id), "phone": rented["phone"]["number"]}

    extension = money(api.getContinueRentPriceNumber(id=rental_id)["price"])  # as long again: 4 hours
    extended = api.continueRentNumber(id=rental_id, time=4)
    assert extended["phone"]["id"] == rental_id and extended["phone"]["endDate"] > rented["phone"]["endDate"]
    assert api.setRentStatus(id=rental_id, status=1) == {"status": "success"}
    assert api.getRentStatus(id=rental_id)["message"] == "STATUS_FINISH"
    assert money(api.getBalance()["balance"]) == Decimal("30.00") - price - extension

    second = api.getRentNumber(service="full", time=24, country=0)
    assert second["status"] == "success" and second["phone"]["number"].startswith("7")
    assert api.setRentStatus(id=second["phone"]["id"], status=2) == {"status": "success"}
    assert api.getRentStatus(id=second["phone"]["id"])["message"] == "STATUS_CANCEL"
    assert len(refunds_of(second["phone"]["id"])) == 1
    assert balance(account) == Decimal("30.00") - price - extension
    assert_ledger_exact(account)


def test_the_official_module_recognises_the_rent_errors(base_url, make_user):  # noqa: F811
    api = official(make_user("0.00").key, base_url)
    assert api.getRentNumber(service="wa", time=4, country=16)["message"] == "NO_BALANCE"
    assert api.getRentStatus(id=77)["message"] == "INVALID_PHONE"
    assert api.setRentStatus(id=77, status=2)["message"] == "INVALID_PHONE"
    assert api.getRentList()["message"] == "NO_NUMBERS"
    assert official("k" * 32, base_url).getRentList()["error"] == "BAD_KEY"  # plain: the module's own error dict
