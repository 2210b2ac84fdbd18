"""The rent answers of reference §4.4, byte for byte, from the renderers alone (the golden files
of tests/legacy/golden hold them as a running server answers them)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from smsbulk.errors import ExtensionUnavailable, MaxHoursExceeded, NoBalance
from smsbulk.legacy import protocol, protocol_rent

AT = datetime.datetime(2020, 1, 30, 14, 31, 58)


def test_a_rented_number_is_its_id_end_date_and_digits():
    answer = protocol_rent.rented(1049, datetime.datetime(2020, 1, 31, 12, 1, 52), "79959707564")
    assert (
        answer.body == '{"status":"success","phone":{"id":1049,"endDate":"2020-01-31T12:01:52","number":"79959707564"}}'
    )
    assert answer.mimetype == "application/json"


def test_rent_sms_are_listed_newest_first_keyed_from_zero_with_the_total_as_a_string():
    messages = [
        protocol_rent.RentSms("79180230628", "5", "ot", AT),
        protocol_rent.RentSms("WHATSAPP", "code 1 BANNED", "wa", AT + datetime.timedelta(seconds=1)),
    ]
    assert protocol_rent.rent_sms(messages, page=1, size=10).body == (
        '{"status":"success","quantity":"2","values":{'
        '"0":{"phoneFrom":"WHATSAPP","text":"code 1 banned","service":"wa","date":"2020-01-30 14:31:59"},'
        '"1":{"phoneFrom":"79180230628","text":"5","service":"ot","date":"2020-01-30 14:31:58"}}}'
    )
    assert protocol_rent.rent_sms(messages, page=2, size=1).body.endswith(
        '"values":{"0":{"phoneFrom":"79180230628","text":"5","service":"ot","date":"2020-01-30 14:31:58"}}}'
    )


def test_the_catalogue_the_list_the_prices_and_the_plain_success():
    services = {"full": (Decimal("42.93"), 20), "vk": (Decimal("21.95"), 20)}
    assert protocol_rent.rent_catalogue([2], ["aiva", "any"], services).body == (
        '{"countries":{"0":2},"operators":{"0":"aiva","1":"any"},'
        '"services":{"full":{"cost":42.93,"quant":20},"vk":{"cost":21.95,"quant":20}},"currency":840}'
    )
    assert protocol_rent.rent_list([(12345, "79181234567")]).body == (
        '{"status":"success","values":{"0":{"id":"12345","phone":"79181234567"}}}'
    )
    assert protocol_rent.extension_price(Decimal("6.33")).body == '{"status":"success","price":6.33,"currency":840}'
    assert protocol_rent.extension_info(Decimal("6.33"), 4, [(AT, Decimal("101.90"), 4)]).body == (
        '{"status":"success","price":6.33,"currency":840,"hours":4,'
        '"history":{"0":{"createDate":"2020-01-30 14:31:58","price":"101.90","hours":4}}}'
    )
    assert protocol_rent.success().body == '{"status":"success"}'


def test_rent_errors_carry_the_token_under_message_and_error_and_max_hours_its_info():
    assert (
        protocol.error(NoBalance(), protocol.RENT_JSON).body
        == '{"status":"error","message":"NO_BALANCE","error":"NO_BALANCE"}'
    )
    assert protocol.error(MaxHoursExceeded(maxHours=20), protocol.RENT_JSON).body == (
        '{"status":"error","message":"MAX_HOURS_EXCEED","error":"MAX_HOURS_EXCEED","info":{"max":20}}'
    )
    assert protocol.error(ExtensionUnavailable(), protocol.RENT_JSON).body.endswith('"info":{"max":0}}')
    assert protocol_rent.state("STATUS_WAIT_CODE").body == (
        '{"status":"error","message":"STATUS_WAIT_CODE","error":"STATUS_WAIT_CODE"}'
    )


def test_an_extra_activation_quote_shows_the_phone_as_a_number():
    answer = protocol_rent.extra_activation_quote(Decimal("0.25"), "tw", "777777777", 14)
    assert answer.body == '{"status":"success","cost":0.25,"service":"tw","phone":777777777,"country":14}'
