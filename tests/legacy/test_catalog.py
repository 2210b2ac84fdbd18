"""Catalogue actions (reference §4.2): the shapes and JSON types clients decode into."""

from __future__ import annotations

import json
from decimal import Decimal

from smsbulk.legacy.protocol import encode
from smsbulk.providers.simulator import POPULAR_SERVICES


def get_json(legacy, key, action, **params):
    return json.loads(legacy.text(key, action, **params), parse_float=Decimal)


def test_numbers_status_in_the_current_form_has_bare_keys_and_string_counts(legacy, make_user):
    body = get_json(legacy, make_user().key, "getNumbersStatus", country="62")
    assert set(body) == set(POPULAR_SERVICES)
    assert all(value == "500" for value in body.values())


def test_numbers_status_in_the_older_form_lists_every_service_with_zero_where_none_is_in_stock(legacy, make_user):
    account = make_user(legacy_numbers_status_v1=True)
    body = get_json(legacy, account.key, "getNumbersStatus", country="62")
    assert body["wa_0"] == 500 and body["tg_0"] == 500
    assert body["aoo_0"] == 0 and body["full_0"] == 0
    assert body["av_1"] == 0 and body["qw_0"] == 0  # keys smsactivateru reads
    assert len(body) > 1900 and all(isinstance(v, int) for v in body.values())


def test_numbers_status_without_a_country_falls_back_to_russia_and_follows_the_operator(legacy, make_user):
    key = make_user().key
    assert get_json(legacy, key, "getNumbersStatus") == get_json(legacy, key, "getNumbersStatus", country="0")
    assert get_json(legacy, key, "getNumbersStatus", country="0", operator="mts") == get_json(
        legacy, key, "getNumbersStatus", country="0"
    )  # the simulator sells "any" operator, which matches every operator


def test_prices_are_json_numbers_country_then_service(legacy, make_user):
    response = legacy(make_user().key, "getPrices", service="wa", country="62")
    assert response.data == b'{"62":{"wa":{"cost":0.23,"count":500,"physicalCount":500}}}'
    assert get_json(legacy, make_user().key, "getPrices", service="aoo") == {}
    every_wa = get_json(legacy, make_user().key, "getPrices", service="wa")
    assert len(every_wa) > 200 and all(set(row) == {"wa"} for row in every_wa.values())


def test_prices_verification_is_the_inverted_map(legacy, make_user):
    body = get_json(legacy, make_user().key, "getPricesVerification", service="tg")
    assert list(body) == ["tg"] and body["tg"]["187"]["count"] == 500
    assert isinstance(body["tg"]["187"]["price"], Decimal)


def test_top_countries_are_ranked_and_keyed_by_rank(legacy, make_user):
    key = make_user().key
    body = get_json(legacy, key, "getTopCountriesByService", service="wa", freePrice="true")
    assert list(body)[:3] == ["0", "1", "2"]
    first = body["0"]
    assert set(first) == {"country", "count", "price", "retail_price", "freePriceMap"}
    assert isinstance(first["country"], int) and isinstance(first["price"], Decimal)
    prices = [row["price"] for row in body.values()]
    assert prices == sorted(prices)  # equal stock everywhere: cheapest first
    ranked = get_json(legacy, key, "getTopCountriesByServiceRank", service="wa")
    assert ranked["0"] == {k: v for k, v in first.items() if k != "freePriceMap"}
    assert set(get_json(legacy, key, "getTopCountriesByService")) == set(POPULAR_SERVICES)
    assert legacy.text(key, "getTopCountriesByService", service="nope") == "BAD_SERVICE"


def test_countries_are_keyed_by_id_with_all_eight_fields_and_the_raw_english_names(legacy, make_user):
    body = get_json(legacy, make_user().key, "getCountries")
    assert body["62"]["eng"] == "Turkey" and body["187"]["eng"] == "USA" and body["12"]["eng"] == "USA (virtual)"
    assert body["16"]["eng"] == "England"
    for key, country in body.items():
        assert list(country) == ["id", "rus", "eng", "chn", "visible", "retry", "rent", "multiService"]
        assert country["id"] == int(key)


def test_operators_by_country_and_the_json_error_for_an_unknown_country(legacy, make_user):
    key = make_user().key
    assert legacy.text(key, "getOperators", country="62") == '{"status":"success","countryOperators":{"62":["any"]}}'
    assert len(get_json(legacy, key, "getOperators")["countryOperators"]) > 200
    response = legacy(key, "getOperators", country="999")
    assert response.data == b'{"status":"error","error":"OPERATORS_NOT_FOUND"}'
    assert response.headers["X-Status-Code"] == "404"


def test_services_list_is_every_service_or_those_sold_in_a_country(legacy, make_user):
    key = make_user().key
    everything = get_json(legacy, key, "getServicesList")
    assert everything["status"] == "success" and len(everything["services"]) > 1900
    in_turkey = get_json(legacy, key, "getServicesList", country="TR", lang="ru")["services"]
    assert {s["code"] for s in in_turkey} == set(POPULAR_SERVICES)
    assert set(in_turkey[0]) == {"code", "name"}


def test_decimals_are_printed_exactly_as_json_numbers():
    assert encode({"a": Decimal("0.23"), "b": [Decimal("10.00"), Decimal("1E+2")], "c": None}) == (
        '{"a":0.23,"b":[10.00,100],"c":null}'
    )
    assert encode({"t": 'q"Ж\n', "n": 5, "f": False}) == '{"t":"q\\"Ж\\n","n":5,"f":false}'
