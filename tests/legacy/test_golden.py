"""The exact bytes of every answer, frozen in tests/legacy/golden/<case>.txt.

A golden file holds the X-Status-Code and Content-Type headers, a blank line, then the body
byte for byte (no newline at the end: the protocol sends none). Everything volatile is made
deterministic (a fresh database per case, so activation ids start at 1; the simulator's codes
follow from its per-test sequence) or normalised explicitly: each phone number becomes
`<phone:N>` (N = the activation id) and each timestamp `<time>`.

Regenerate after an intended change with: UPDATE_GOLDEN=1 .venv/bin/pytest tests/legacy/test_golden.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from smsbulk.extensions import db
from smsbulk.models import Activation, Rental

GOLDEN = Path(__file__).parent / "golden"
DELIVER = ("deliver", {})  # a step: the simulator's SMS arrive
BUY = ("getNumber", {"service": "wa", "country": "62"})
FINISH = ("setStatus", {"id": "1", "status": "6"})
RENT = ("getRentNumber", {"service": "wa", "country": "16", "time": "4"})
WRONG_KEY = "wrongKeyWrongKeyWrongKeyWrongKey"

# case -> (account options, steps); the answer to the last step is the one recorded.
CASES: dict[str, tuple[dict, list[tuple[str, dict]]]] = {
    "getBalance": ({}, [("getBalance", {})]),
    "getBalance_post_form": ({"method": "POST"}, [("getBalance", {})]),
    "getBalanceAndCashBack": ({}, [("getBalanceAndCashBack", {})]),
    "bad_key": ({"key": WRONG_KEY}, [("getBalance", {})]),
    "no_key": ({"key": None}, [("getBalance", {})]),
    "bad_action": ({}, [("frobnicate", {})]),
    "no_action": ({}, [("", {})]),
    "rate_limited": ({"quota": 1}, [("getBalance", {}), ("getBalance", {})]),
    "getNumbersStatus": ({}, [("getNumbersStatus", {"country": "62"})]),
    "getNumbersStatus_v1": ({"legacy_numbers_status_v1": True}, [("getNumbersStatus", {"country": "62"})]),
    "getTopCountriesByService": ({}, [("getTopCountriesByService", {"service": "wa", "freePrice": "true"})]),
    "getTopCountriesByServiceRank": ({}, [("getTopCountriesByServiceRank", {"service": "tg"})]),
    "getOperators": ({}, [("getOperators", {"country": "62"})]),
    "getOperators_unknown_country": ({}, [("getOperators", {"country": "999"})]),
    "getPrices": ({}, [("getPrices", {"service": "wa", "country": "62"})]),
    "getPrices_nothing_matches": ({}, [("getPrices", {"service": "aoo"})]),
    "getPricesVerification": ({}, [("getPricesVerification", {"service": "wa"})]),
    "getCountries": ({}, [("getCountries", {})]),
    "getServicesList": ({}, [("getServicesList", {"country": "62"})]),
    "getNumber": ({}, [BUY]),
    "getNumber_no_balance": ({"balance": "0.00"}, [BUY]),
    "getNumber_bad_service": ({}, [("getNumber", {"service": "zzzz", "country": "62"})]),
    "getNumber_bad_country": ({}, [("getNumber", {"service": "wa", "country": "999"})]),
    "getNumber_wrong_max_price": ({}, [("getNumber", {"service": "wa", "country": "62", "maxPrice": "0.05"})]),
    "getNumber_no_numbers": ({}, [("getNumber", {"service": "aoo", "country": "62"})]),
    "getNumberV2": ({}, [("getNumberV2", {"service": "wa", "country": "16"})]),
    "getNumberV2_order_exists": ({}, [("getNumberV2", {"service": "wa", "orderId": "a"})] * 2),
    "getStatus_wait_code": ({}, [BUY, ("getStatus", {"id": "1"})]),
    "getStatus_ok": ({}, [BUY, DELIVER, ("getStatus", {"id": "1"})]),
    "getStatus_wait_retry": ({}, [BUY, DELIVER, ("setStatus", {"id": "1", "status": "3"}), ("getStatus", {"id": "1"})]),
    "getStatus_completed": ({}, [BUY, DELIVER, ("setStatus", {"id": "1", "status": "6"}), ("getStatus", {"id": "1"})]),
    "getStatus_cancel": ({}, [BUY, ("setStatus", {"id": "1", "status": "8"}), ("getStatus", {"id": "1"})]),
    "getStatus_no_activation": ({}, [("getStatus", {"id": "77"})]),
    "getStatus_wrong_activation_id": ({}, [("getStatus", {"id": "x1"})]),
    "getStatusV2_wait_code": ({}, [BUY, ("getStatusV2", {"id": "1"})]),
    "getStatusV2_sms": ({}, [BUY, DELIVER, ("getStatusV2", {"id": "1"})]),
    "getStatusV2_cancel": ({}, [BUY, ("setStatus", {"id": "1", "status": "8"}), ("getStatusV2", {"id": "1"})]),
    "getFullSms": ({}, [BUY, DELIVER, ("getFullSms", {"id": "1"})]),
    "getFullSms_wait_code": ({}, [BUY, ("getFullSms", {"id": "1"})]),
    "setStatus_1_ready": ({}, [BUY, ("setStatus", {"id": "1", "status": "1"})]),
    "setStatus_3_retry": ({}, [BUY, DELIVER, ("setStatus", {"id": "1", "status": "3"})]),
    "setStatus_6_finish": ({}, [BUY, DELIVER, ("setStatus", {"id": "1", "status": "6"})]),
    "setStatus_6_before_a_code": ({}, [BUY, ("setStatus", {"id": "1", "status": "6"})]),
    "setStatus_8_cancel": ({}, [BUY, ("setStatus", {"id": "1", "status": "8"})]),
    "setStatus_minus_1_cancel": ({}, [BUY, ("setStatus", {"id": "1", "status": "-1"})]),
    "setStatus_8_early": ({"cancel_lock": 120}, [BUY, ("setStatus", {"id": "1", "status": "8"})]),
    "setStatus_8_after_a_code": ({}, [BUY, DELIVER, ("setStatus", {"id": "1", "status": "8"})]),
    "setStatus_2_unknown": ({}, [BUY, ("setStatus", {"id": "1", "status": "2"})]),
    "getActiveActivations": ({}, [BUY, DELIVER, ("getActiveActivations", {})]),
    "getActiveActivations_none": ({}, [("getActiveActivations", {})]),
    "getHistory": ({}, [BUY, DELIVER, ("getNumber", {"service": "tg", "country": "187"}), ("getHistory", {})]),
    "getHistory_wrong_date": ({}, [("getHistory", {"start": "10", "end": "5"})]),
    "getRentServicesAndCountries": ({}, [("getRentServicesAndCountries", {"country": "16", "rent_time": "24"})]),
    "getRentServicesAndCountries_out_of_stock": ({}, [("getRentServicesAndCountries", {"country": "62"})]),
    "getRentServicesAndCountries_invalid_time": ({}, [("getRentServicesAndCountries", {"time": "4h"})]),
    "getRentServicesAndCountries_max_hours": ({}, [("getRentServicesAndCountries", {"duration": "1345"})]),
    "getRentNumber": ({}, [RENT]),
    "getRentNumber_no_balance": ({"balance": "0.00"}, [RENT]),
    "getRentNumber_bad_service": ({}, [("getRentNumber", {"service": "zzzz", "country": "16"})]),
    "getRentNumber_no_numbers": ({}, [("getRentNumber", {"service": "wa", "country": "62"})]),
    "getRentStatus_wait_code": ({}, [RENT, ("getRentStatus", {"id": "1"})]),
    "getRentStatus_sms": ({}, [RENT, DELIVER, ("getRentStatus", {"id": "1"})]),
    "getRentStatus_finish": ({}, [RENT, ("setRentStatus", {"id": "1", "status": "1"}), ("getRentStatus", {"id": "1"})]),
    "getRentStatus_cancel": ({}, [RENT, ("setRentStatus", {"id": "1", "status": "2"}), ("getRentStatus", {"id": "1"})]),
    "getRentStatus_no_id_rent": ({}, [("getRentStatus", {})]),
    "getRentStatus_invalid_phone": ({}, [("getRentStatus", {"id": "77"})]),
    "setRentStatus_finish": ({}, [RENT, ("setRentStatus", {"id": "1", "status": "1"})]),
    "setRentStatus_cancel": ({}, [RENT, ("setRentStatus", {"id": "1", "status": "2"})]),
    "setRentStatus_cant_cancel": ({}, [RENT, DELIVER, ("setRentStatus", {"id": "1", "status": "2"})]),
    "setRentStatus_already_finish": ({}, [RENT, *[("setRentStatus", {"id": "1", "status": "1"})] * 2]),
    "setRentStatus_already_cancel": ({}, [RENT, *[("setRentStatus", {"id": "1", "status": "2"})] * 2]),
    "setRentStatus_incorect_status": ({}, [RENT, ("setRentStatus", {"id": "1", "status": "3"})]),
    "getRentList": ({}, [RENT, ("getRentList", {})]),
    "getRentList_none": ({}, [("getRentList", {})]),
    "continueRentNumber": ({}, [RENT, ("continueRentNumber", {"id": "1", "rent_time": "4"})]),
    "continueRentNumber_rent_die": (
        {},
        [RENT, ("setRentStatus", {"id": "1", "status": "1"}), ("continueRentNumber", {"id": "1", "rent_time": "4"})],
    ),
    "continueRentNumber_max_hours": ({}, [RENT, ("continueRentNumber", {"id": "1", "rent_time": "1341"})]),
    "getContinueRentPriceNumber": ({}, [RENT, ("getContinueRentPriceNumber", {"id": "1"})]),
    "continueRentInfo": ({}, [RENT, ("continueRentInfo", {"id": "1", "hours": "24", "needHistory": "true"})]),
    "checkExtraActivation": ({}, [BUY, DELIVER, FINISH, ("checkExtraActivation", {"activationId": "1"})]),
    "checkExtraActivation_not_available": ({}, [BUY, ("checkExtraActivation", {"activationId": "1"})]),
    "getExtraActivation": ({}, [BUY, DELIVER, FINISH, ("getExtraActivation", {"activationId": "1"})]),
    "getExtraActivation_by_id": ({}, [BUY, DELIVER, FINISH, ("getExtraActivation", {"id": "1"})]),
    "getExtraActivation_wrong_activation_id": ({}, [("getExtraActivation", {"id": "9"})]),
    "getMultiServiceNumber": ({}, [("getMultiServiceNumber", {"multiService": "wa,tg"})]),
    "getIncomingCallStatus": ({}, [BUY, ("getIncomingCallStatus", {"activationId": "1"})]),
}


def run(app, legacy, make_user, options: dict, steps) -> tuple:
    from workers.tasks import poll_statuses

    app.config["CANCEL_LOCK_SECONDS"] = options.get("cancel_lock", 0)
    account = make_user(
        options.get("balance", "10.00"),
        quota=options.get("quota"),
        legacy_numbers_status_v1=options.get("legacy_numbers_status_v1", False),
    )
    key = options["key"] if "key" in options else account.key
    response = None
    for name, params in steps:
        if name == "deliver":
            poll_statuses()
            continue
        response = legacy(key, name, method=options.get("method", "GET"), **params)
    return response


def normalise(text: str) -> str:
    with db.connection_context():
        for activation in Activation.select().where(Activation.phone_number.is_null(False)):
            text = text.replace(activation.phone_number, f"<phone:{activation.id}>")
        for rental in Rental.select().where(Rental.phone_number.is_null(False)):
            text = text.replace(rental.phone_number, f"<rented:{rental.id}>")
    return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", "<time>", text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_answer_matches_its_golden_file_byte_for_byte(app, legacy, make_user, case):
    response = run(app, legacy, make_user, *CASES[case])
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert not body.endswith("\n")
    actual = (
        f"X-Status-Code: {response.headers['X-Status-Code']}\n"
        f"Content-Type: {response.headers['Content-Type']}\n\n{normalise(body)}"
    )
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual.encode())
    assert path.read_bytes().decode() == actual


def test_every_golden_file_belongs_to_a_case():
    assert {path.stem for path in GOLDEN.glob("*.txt")} == set(CASES)
