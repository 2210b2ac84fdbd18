"""The activation life cycle over the protocol (reference §3, SPEC "Legacy API"), with its money."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import Activation
from tests.factories import assert_ledger_exact, balance


def buy(legacy, account, service="wa", country="62", **params) -> tuple[int, str]:
    body = legacy.text(account.key, "getNumber", service=service, country=country, **params)
    assert body.count(":") == 2, body
    token, activation_id, phone = body.split(":")
    assert token == "ACCESS_NUMBER" and activation_id.isdigit() and phone.isdigit()
    return int(activation_id), phone


def row(activation_id: int) -> Activation:
    with db.connection_context():
        return Activation.get_by_id(activation_id)


def test_a_whole_activation_answers_each_step_of_the_reference_transcript(legacy, make_user, deliver_sms):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    price = row(activation_id).user_cost
    assert legacy.text(account.key, "getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=1) == "ACCESS_READY"
    assert legacy.text(account.key, "getFullSms", id=activation_id) == "STATUS_WAIT_CODE"
    deliver_sms()
    code = row(activation_id).sms_code
    assert legacy.text(account.key, "getStatus", id=activation_id) == f"STATUS_OK:{code}"
    assert (
        legacy.text(account.key, "getFullSms", id=activation_id)
        == f"FULL_SMS:Your WA verification code is {code}. Do not share it."
    )
    assert legacy.text(account.key, "setStatus", id=activation_id, status=3) == "ACCESS_RETRY_GET"
    assert legacy.text(account.key, "getStatus", id=activation_id) == f"STATUS_WAIT_RETRY:{code}"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=6) == "ACCESS_ACTIVATION"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=6) == "ACCESS_ACTIVATION"
    assert legacy.text(account.key, "getStatus", id=activation_id) == f"STATUS_OK:{code}"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=8) == "BAD_STATUS"
    assert balance(account) == Decimal("10.00") - price  # the code arrived: the money is kept
    assert_ledger_exact(account)


@pytest.mark.parametrize("cancel_code", ["8", "-1"])
def test_a_cancel_before_any_code_refunds_once_and_a_repeat_answers_the_same(legacy, make_user, cancel_code):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    assert balance(account) < Decimal("10.00")
    assert legacy.text(account.key, "setStatus", id=activation_id, status=cancel_code) == "ACCESS_CANCEL"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=cancel_code) == "ACCESS_CANCEL"
    assert legacy.text(account.key, "getStatus", id=activation_id) == "STATUS_CANCEL"
    assert legacy.text(account.key, "getStatusV2", id=activation_id) == "STATUS_CANCEL"
    assert legacy.text(account.key, "getFullSms", id=activation_id) == "STATUS_CANCEL"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=1) == "BAD_STATUS"
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def test_a_cancel_inside_the_early_cancel_lock_is_denied_and_keeps_the_number(app, legacy, make_user):
    app.config["CANCEL_LOCK_SECONDS"] = 120
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    response = legacy(account.key, "setStatus", id=activation_id, status=8)
    assert response.data == b"EARLY_CANCEL_DENIED" and response.headers["X-Status-Code"] == "409"
    assert row(activation_id).status == "WAITING"
    assert_ledger_exact(account)


def test_a_cancel_after_a_code_is_bad_status_and_refunds_nothing(legacy, make_user, deliver_sms):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    deliver_sms()
    before = balance(account)
    assert legacy.text(account.key, "setStatus", id=activation_id, status=8) == "BAD_STATUS"
    assert balance(account) == before
    assert row(activation_id).status == "RECEIVED"


def test_finishing_before_any_code_is_bad_status_and_the_number_can_still_be_cancelled(legacy, make_user):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    assert legacy.text(account.key, "setStatus", id=activation_id, status=6) == "BAD_STATUS"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=3) == "ACCESS_RETRY_GET"
    assert legacy.text(account.key, "getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    assert legacy.text(account.key, "setStatus", id=activation_id, status=8) == "ACCESS_CANCEL"
    assert balance(account) == Decimal("10.00")


def test_another_code_after_a_retry_replaces_the_first(legacy, make_user, deliver_sms):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    deliver_sms()
    first = row(activation_id).sms_code
    legacy.text(account.key, "setStatus", id=activation_id, status=3)
    deliver_sms()
    second = row(activation_id).sms_code
    assert second != first
    assert legacy.text(account.key, "getStatus", id=activation_id) == f"STATUS_OK:{second}"
    v2 = json.loads(legacy.text(account.key, "getStatusV2", id=activation_id))
    assert v2["sms"]["code"] == second and second in v2["sms"]["text"]


def test_status_codes_outside_the_protocol_are_bad_status(legacy, make_user):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    for status in ("2", "4", "7", "99", "x", "", "1.0"):
        assert legacy.text(account.key, "setStatus", id=activation_id, status=status) == "BAD_STATUS", status
    assert row(activation_id).status == "WAITING"


def test_ids_that_are_not_numbers_and_ids_of_others_are_told_apart(legacy, make_user):
    owner, other = make_user("10.00"), make_user("10.00")
    activation_id, _ = buy(legacy, owner)
    assert legacy.text(other.key, "getStatus", id=activation_id) == "NO_ACTIVATION"
    assert legacy.text(other.key, "setStatus", id=activation_id, status=8) == "NO_ACTIVATION"
    assert legacy.text(other.key, "getFullSms", id=activation_id) == "NO_ACTIVATION"
    assert legacy.text(owner.key, "getStatus", id="abc") == "WRONG_ACTIVATION_ID"
    assert legacy.text(owner.key, "getStatus") == "WRONG_ACTIVATION_ID"
    assert legacy.text(owner.key, "getStatus", id=str(2**31)) == "NO_ACTIVATION"
    assert row(activation_id).status == "WAITING"
    assert balance(other) == Decimal("10.00")


def test_a_purchase_the_wallet_cannot_pay_is_no_balance_and_moves_no_money(legacy, make_user):
    account = make_user("0.05")
    response = legacy(account.key, "getNumber", service="wa", country="62")
    assert response.data == b"NO_BALANCE" and response.headers["X-Status-Code"] == "402"
    assert balance(account) == Decimal("0.05")
    assert_ledger_exact(account)


@pytest.mark.parametrize(
    ("params", "answer"),
    [
        ({"service": "zzzz", "country": "62"}, "BAD_SERVICE"),
        ({"country": "62"}, "BAD_SERVICE"),
        ({"service": "wa", "country": "999"}, "BAD_COUNTRY"),
        ({"service": "aoo", "country": "62"}, "NO_NUMBERS"),  # in the catalogue, not in stock
        ({"service": "wa", "country": "62", "maxPrice": "0.01"}, "WRONG_MAX_PRICE:0.23"),
        ({"service": "wa", "country": "62", "maxPrice": "abc"}, "BAD_DATA"),
        ({"service": "wa", "country": "62", "activationType": "2"}, "NO_NUMBERS"),
        ({"service": "wa", "country": "62", "forward": "1"}, "NO_NUMBERS"),
        ({"service": "wa", "country": "62", "phoneException": "90+5"}, "WRONG_EXCEPTION_PHONE"),
    ],
)
def test_purchases_refused_by_rule_answer_their_token_and_take_nothing(legacy, make_user, params, answer):
    account = make_user("10.00")
    assert legacy.text(account.key, "getNumber", **params) == answer
    assert balance(account) == Decimal("10.00")


def test_max_price_at_the_price_buys_and_country_defaults_to_russia(legacy, make_user):
    account = make_user("10.00")
    activation_id, phone = buy(
        legacy, account, country=None, maxPrice="5", freePrice="true", phoneException="7918,7900111"
    )
    assert row(activation_id).country_id == 0 and phone.startswith("7")


def test_us_by_iso_code_is_187_the_real_numbers_and_12_stays_virtual(legacy, make_user):
    account = make_user("10.00")
    assert row(buy(legacy, account, country="US")[0]).country_id == 187
    assert row(buy(legacy, account, country="12")[0]).country_id == 12
    assert row(buy(legacy, account, country="turkey")[0]).country_id == 62


def test_a_purchase_still_pending_after_the_wait_is_withdrawn_refunded_and_answered_no_numbers(app, legacy, make_user):
    app.config["RQ_ASYNC"] = True  # the job is queued, and no worker runs it
    account = make_user("10.00")
    response = legacy(account.key, "getNumber", service="wa", country="62")
    assert response.data == b"NO_NUMBERS" and response.headers["X-Status-Code"] == "503"
    with db.connection_context():
        withdrawn = Activation.get()
    assert withdrawn.status == "WITHDRAWN"
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)
    from workers.tasks import purchase

    assert purchase(withdrawn.id)["status"] == "skipped"  # the late job buys nothing


def test_a_purchase_the_upstream_fails_is_no_numbers_and_refunded(app, legacy, make_user):
    app.config["SIMULATOR_NO_NUMBERS_RATE"] = 1.0
    account = make_user("10.00")
    assert legacy.text(account.key, "getNumber", service="wa", country="62") == "NO_NUMBERS"
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def test_an_order_id_buys_once_and_a_repeat_is_order_already_exists(legacy, make_user):
    account = make_user("10.00")
    first = json.loads(legacy.text(account.key, "getNumberV2", service="wa", country="62", orderId="bot-1"))
    after_first = balance(account)
    assert (
        legacy.text(account.key, "getNumberV2", service="wa", country="62", orderId="bot-1") == "ORDER_ALREADY_EXISTS"
    )
    assert balance(account) == after_first
    second = json.loads(legacy.text(account.key, "getNumberV2", service="wa", country="62", orderId="bot-2"))
    assert second["activationId"] != first["activationId"]


def test_get_number_v2_has_the_types_every_client_demands(legacy, make_user):
    account = make_user("10.00")
    response = legacy(account.key, "getNumberV2", service="tg", country="16")
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.data)
    assert list(body) == [
        "activationId",
        "phoneNumber",
        "activationCost",
        "currency",
        "countryCode",
        "canGetAnotherSms",
        "activationTime",
        "activationEndTime",
        "activationOperator",
    ]
    assert body["activationId"].isdigit() and int(body["activationId"]) < 2**31
    assert body["phoneNumber"].isdigit() and body["phoneNumber"].startswith("44")
    assert isinstance(body["activationCost"], str) and "." in body["activationCost"]
    assert body["currency"] == 840 and body["countryCode"] == "16" and body["canGetAnotherSms"] is True
    assert body["activationOperator"] == "any"
    import datetime

    start = datetime.datetime.strptime(body["activationTime"], "%Y-%m-%d %H:%M:%S")
    end = datetime.datetime.strptime(body["activationEndTime"], "%Y-%m-%d %H:%M:%S")
    assert (end - start).total_seconds() == pytest.approx(1200, abs=2)


def test_status_v2_is_an_object_with_null_sms_while_waiting_then_the_message(legacy, make_user, deliver_sms):
    account = make_user("10.00")
    activation_id, _ = buy(legacy, account)
    waiting = legacy(account.key, "getStatusV2", id=activation_id)
    assert waiting.headers["Content-Type"] == "application/json"
    assert json.loads(waiting.data) == {"verificationType": 0, "sms": None, "call": None}
    deliver_sms()
    body = json.loads(legacy.text(account.key, "getStatusV2", id=activation_id))
    assert set(body["sms"]) == {"dateTime", "code", "text"} and all(isinstance(v, str) for v in body["sms"].values())


def test_active_activations_lists_held_numbers_as_strings_and_none_is_the_json_error(legacy, make_user, deliver_sms):
    account = make_user("10.00")
    assert legacy.text(account.key, "getActiveActivations") == '{"status":"error","error":"NO_ACTIVATIONS"}'
    activation_id, phone = buy(legacy, account)
    deliver_sms()
    cancelled, _ = buy(legacy, account, service="tg")
    legacy.text(account.key, "setStatus", id=cancelled, status=8)
    body = json.loads(legacy.text(account.key, "getActiveActivations"))
    assert body["status"] == "success" and body["data"] == body["activeActivations"]
    (item,) = body["activeActivations"]
    assert item["activationId"] == str(activation_id) and item["phoneNumber"] == phone
    assert item["smsCode"] == row(activation_id).sms_code and item["countryName"] == "Turkey"
    assert all(isinstance(value, str) for key, value in item.items() if key != "currency")


def test_history_lists_every_activation_newest_first_with_what_it_cost(legacy, make_user):
    account = make_user("10.00")
    kept, _ = buy(legacy, account)
    refunded, _ = buy(legacy, account, service="tg")
    legacy.text(account.key, "setStatus", id=refunded, status=8)
    body = json.loads(legacy.text(account.key, "getHistory"))
    assert [item["id"] for item in body.values()] == [refunded, kept]
    assert body["0"]["cost"] == 0 and body["0"]["status"] == "8"
    assert Decimal(str(body["1"]["cost"])) == row(kept).user_cost and body["1"]["status"] == "4"
    assert legacy.text(account.key, "getHistory", start="100", end="50") == "WRONG_DATE"
    assert legacy.text(account.key, "getHistory", start="0", end="9999999") == "WRONG_DATE"
    assert legacy.text(account.key, "getHistory", start="x") == "WRONG_DATE"
    assert legacy.text(account.key, "getHistory", start="1", end="1000") == "{}"
