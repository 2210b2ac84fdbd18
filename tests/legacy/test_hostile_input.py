"""Legacy input that once answered ERROR_SQL, a 500 or REST's JSON: now the protocol's tokens, HTTP 200."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import assert_ledger_exact, balance

PATH = "/stubs/handler_api.php"


@pytest.mark.parametrize("max_price", ["0.235", "0,999", "1000000", "6.6e16", "-1", "0.30000000000000004"])
def test_a_max_price_outside_the_money_rule_is_bad_data_and_buys_nothing(legacy, make_user, max_price):
    account = make_user("10.00")
    answer = legacy(account.key, "getNumber", service="wa", country="62", maxPrice=max_price)
    assert (answer.status_code, answer.data, answer.headers["X-Status-Code"]) == (200, b"BAD_DATA", "400")
    assert balance(account) == Decimal("10.00")


def test_a_max_price_with_zeros_after_the_cents_buys_as_rest_does(legacy, make_user):
    account = make_user("10.00")
    assert legacy.text(account.key, "getNumber", service="wa", country="62", maxPrice="0.2300").startswith(
        "ACCESS_NUMBER:"
    )
    assert legacy.text(account.key, "getNumber", service="wa", country="62", maxPrice="0,23").startswith(
        "ACCESS_NUMBER:"
    )
    assert_ledger_exact(account)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_any_method_is_served_like_get(client, make_user, method):
    account = make_user("3.00")
    answer = client.open(PATH, method=method, query_string={"api_key": account.key, "action": "getBalance"})
    assert (answer.status_code, answer.data) == (200, b"ACCESS_BALANCE:3.00")


def test_an_unknown_method_still_gets_http_200_and_a_token(client, make_user):
    account = make_user("3.00")
    answer = client.open(PATH, method="PROPFIND", query_string={"api_key": account.key, "action": "getBalance"})
    assert answer.status_code == 200 and answer.data == b"BAD_DATA" and answer.headers["X-Status-Code"] == "405"
    assert answer.mimetype == "text/plain"


def test_control_characters_make_a_value_absent(legacy, make_user):
    account = make_user("10.00")
    assert legacy.text(account.key, "getNumber", service="w\x01a", country="62") == "BAD_SERVICE"
    assert legacy.text(account.key, "getStatus", id="1\x1b2") == "WRONG_ACTIVATION_ID"
    assert balance(account) == Decimal("10.00")
