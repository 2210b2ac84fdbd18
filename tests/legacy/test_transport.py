"""Transport as profiled in reference §1 and §9: what clients silently depend on."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.factories import balance

PATH = "/stubs/handler_api.php"


def test_every_answer_is_http_200_with_the_rest_status_in_a_header(legacy, make_user):
    account = make_user("0.00")
    cases = [
        (account.key, {"action": "getBalance"}, b"ACCESS_BALANCE:0.00", "200"),
        ("x" * 32, {"action": "getBalance"}, b"BAD_KEY", "401"),
        (None, {"action": "getBalance"}, b"BAD_KEY", "401"),
        (account.key, {"action": "frobnicate"}, b"BAD_ACTION", "400"),
        (account.key, {"action": "getNumber", "service": "wa", "country": "62"}, b"NO_BALANCE", "402"),
        (account.key, {"action": "getStatus", "id": "123"}, b"NO_ACTIVATION", "404"),
    ]
    for key, params, body, status in cases:
        response = legacy(key, **params)
        assert response.status_code == 200
        assert response.data == body  # byte-exact: no newline, no space, no BOM
        assert response.headers["X-Status-Code"] == status
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_json_answers_are_compact_objects_with_a_json_content_type(legacy, make_user):
    account = make_user()
    for action, params in [
        ("getNumbersStatus", {"country": "62"}),
        ("getPrices", {"service": "wa", "country": "62"}),
        ("getCountries", {}),
        ("getActiveActivations", {}),
        ("getHistory", {}),
        ("getOperators", {"country": "62"}),
        ("getTopCountriesByService", {"service": "wa"}),
    ]:
        response = legacy(account.key, action, **params)
        assert response.headers["Content-Type"] == "application/json", action
        assert response.data.startswith(b"{") and response.data.endswith(b"}"), action
        assert b", " not in response.data and b'": ' not in response.data and not response.data.endswith(b"\n")
        assert isinstance(json.loads(response.data), dict)


def test_balance_always_has_a_decimal_point(legacy, make_user):
    assert legacy.text(make_user("100").key, "getBalance") == "ACCESS_BALANCE:100.00"
    assert legacy.text(make_user("17.5").key, "getBalanceAndCashBack") == "ACCESS_BALANCE:17.50"


def test_post_with_a_form_body_and_post_with_a_query_string_both_work(client, make_user):
    account = make_user("12.50")
    form = client.post(PATH, data={"api_key": account.key, "action": "getBalance"})
    query = client.post(f"{PATH}?api_key={account.key}&action=getBalance")
    mixed = client.post(f"{PATH}?action=getBalance", data={"api_key": account.key})
    assert form.data == query.data == mixed.data == b"ACCESS_BALANCE:12.50"


def test_the_body_wins_over_the_query_string_like_php_request(client, make_user):
    account = make_user("1.00")
    response = client.post(f"{PATH}?api_key={account.key}&action=getStatus", data={"action": "getBalance"})
    assert response.data == b"ACCESS_BALANCE:1.00"


@pytest.mark.parametrize(
    "url",
    [
        "{path}?&action=getBalance&api_key={key}",
        "{path}?action=getBalance&api_key={key}&",
        "{path}?api_key={key}&action=getBalance&operator=&ref=null&forward=None&json=1&soft_id=7",
        "{path}?api_key=%20{key}%20&action=getBalance",
        "{path}?action%20=getBalance&api_key={key}",
    ],
)
def test_sloppy_urls_are_understood_without_a_redirect(client, make_user, url):
    account = make_user("3.00")
    response = client.get(url.format(path=PATH, key=account.key))
    assert response.status_code == 200 and response.data == b"ACCESS_BALANCE:3.00"


def test_trimmed_names_none_and_false_values_are_lenient(legacy, make_user):
    account = make_user("10.00")
    response = legacy(account.key, "getNumber", **{"service ": "wa", "country ": "62", "forward": "False"})
    assert response.data.startswith(b"ACCESS_NUMBER:")
    assert legacy.text(account.key, "getNumber", service="wa", country="62", forward="false").startswith("ACCESS")
    assert legacy.text(account.key, "getNumber", service="wa", country="62", forward="0").startswith("ACCESS")
    assert legacy.text(account.key, "getNumber", service="wa", country="62", forward="True") == "NO_NUMBERS"


def test_the_key_header_of_rest_is_accepted_too(client, make_user):
    account = make_user("2.00")
    assert client.get(f"{PATH}?action=getBalance", headers={"x-api-key": account.key}).data == b"ACCESS_BALANCE:2.00"
    bearer = {"Authorization": f"Bearer {account.key}"}
    assert client.get(f"{PATH}?action=getBalance", headers=bearer).data == b"ACCESS_BALANCE:2.00"


def test_the_daily_quota_is_shared_with_rest_and_answers_rate_limited(client, legacy, make_user):
    account = make_user("5.00", quota=3)
    assert client.get("/api/v1/wallet/balance", headers=account.headers).status_code == 200
    assert legacy.text(account.key, "getBalance") == "ACCESS_BALANCE:5.00"
    assert legacy.text(account.key, "frobnicate") == "BAD_ACTION"  # counted too
    limited = legacy(account.key, "getNumber", service="wa", country="62")
    assert limited.status_code == 200 and limited.data == b"RATE_LIMITED"
    assert limited.headers["X-Status-Code"] == "429" and int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/wallet/balance", headers=account.headers).status_code == 429
    assert balance(account) == Decimal("5.00")


def test_a_revoked_key_is_bad_key(legacy, make_user):
    from smsbulk.extensions import db
    from smsbulk.models import ApiKey
    from smsbulk.services import keys

    account = make_user()
    with db.connection_context():
        keys.revoke(keys.Actor(account.user.id), ApiKey.get_by_id(account.key_id).public_id)
    assert legacy.text(account.key, "getBalance") == "BAD_KEY"


def test_voice_forwarding_and_multi_service_answer_as_the_protocol_does_for_an_unavailable_feature(legacy, make_user):
    account = make_user()
    assert legacy.text(account.key, "getMultiServiceNumber", multiService="wa,tg") == "NOT_AVAILABLE"
    assert legacy.text(account.key, "getIncomingCallStatus", activationId="5") == "INVALID_ACTIVATION_ID"
    activation_id = legacy.text(account.key, "getNumber", service="wa", country="62").split(":")[1]
    assert legacy.text(account.key, "getIncomingCallStatus", id=activation_id) == "NOT_INCOMING"
    assert legacy.text(account.key, "parseCall", id=activation_id, newLang="en") == "NO_CALL"
    assert legacy.text(account.key, "createTaskForCall", activationId=activation_id) == "BAD_ACTION"
    assert legacy.text("y" * 32, "getRentNumber", service="wa") == "BAD_KEY"  # plain, as the docs say


def test_the_migration_guide_is_served(client):
    response = client.get("/docs/migration")
    assert response.status_code == 200 and response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    assert "/stubs/handler_api.php" in text and "187" in text and "62" in text


def test_the_catch_all_renders_an_unexpected_failure_as_error_sql_with_status_200(app):
    from smsbulk.errors import InternalError
    from smsbulk.legacy import render_legacy_error

    with app.test_request_context(PATH):
        response = render_legacy_error(InternalError())
    assert (response.status_code, response.data, response.headers["X-Status-Code"]) == (200, b"ERROR_SQL", "500")
