"""Hostile and malformed REST input answers a 4xx in the API's JSON error shape and moves no money.

Each case was once a 500 (or a misleading answer); the catch-all handler is off in tests, so an
unexpected exception fails here with its traceback.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.factories import assert_ledger_exact, balance

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def buy(client, account, body, **headers):
    return client.post("/api/v1/activations", json=body, headers={**account.headers, **headers})


@pytest.mark.parametrize("path", ["/api/v1/activations", "/api/v1/wallet/transactions"])
@pytest.mark.parametrize("page", ["99999999999999999999", "10001", "0", "-1"])
def test_a_page_out_of_bounds_is_a_validation_error(client, make_user, path, page):
    answer = client.get(f"{path}?page={page}", headers=make_user().headers)
    assert answer.status_code == 422 and answer.json["error"] == "validation_error"
    assert "page" in answer.json["errors"]["query"]


def test_the_last_allowed_page_is_an_empty_page(client, make_user):
    answer = client.get("/api/v1/activations?page=10000&pageSize=100", headers=make_user().headers)
    assert answer.status_code == 200 and answer.json == []
    assert json.loads(answer.headers["X-Pagination"])["total"] == 0


@pytest.mark.parametrize(
    "max_price",
    ["0.235", 0.999, 0.30000000000000004, 6.6e16, "1000000", "100000.01", "-1", "1e3", "NaN", "0x10", "", " ", True],
)
def test_a_max_price_outside_the_money_rule_is_refused_before_any_purchase(client, make_user, max_price):
    account = make_user("10.00")
    answer = buy(client, account, {**BUY, "maxPrice": max_price})
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "validation_error" and "maxPrice" in answer.json["errors"]["json"]
    assert balance(account) == Decimal("10.00")


@pytest.mark.parametrize("max_price, status", [("100000", 201), ("100000.00", 201), ("0.2300", 201), ("0", 409)])
def test_a_max_price_inside_the_rule_is_taken_as_given(client, make_user, max_price, status):
    account = make_user("10.00")
    answer = buy(client, account, {**BUY, "maxPrice": max_price})
    assert answer.status_code == status, answer.json
    assert_ledger_exact(account)


def test_control_characters_never_reach_the_database(client, make_user):
    account = make_user("10.00")
    nul = buy(client, account, {**BUY, "operator": "a\u0000b"})
    assert nul.status_code == 422 and nul.json["errors"]["json"]["operator"]
    escape = buy(client, account, {**BUY, "serviceCode": "w\u001ba"})
    assert escape.status_code == 422
    by_id = client.get("/api/v1/activations/act_%00abc", headers=account.headers)
    assert by_id.status_code == 404 and by_id.json["error"] == "not_found"
    query = client.get("/api/v1/activations?status=WAIT%00ING", headers=account.headers)
    assert query.status_code == 422
    assert balance(account) == Decimal("10.00")


def test_a_body_nested_too_deep_is_a_bad_request_not_a_crash(client, make_user):
    account = make_user()
    headers = {**account.headers, "Content-Type": "application/json"}
    for depth in (40, 30_000):  # within the body limit; 30,000 levels overflowed json's recursion
        body = "[" * depth + "]" * depth
        answer = client.post("/api/v1/activations", data=body, headers=headers)
        assert answer.status_code == 400 and "nested" in answer.json["message"], depth
    shallow = client.post("/api/v1/activations", data=json.dumps({**BUY, "operator": "any"}), headers=headers)
    assert shallow.status_code == 201


def test_a_body_over_the_size_limit_is_413_without_being_read(app, client, make_user):
    account = make_user()
    deep = "[" * 100_000 + "]" * 100_000  # the 200 KB body that once overflowed the stack
    answer = client.post(
        "/api/v1/activations", data=deep, headers={**account.headers, "Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json["error"] == "payload_too_large"
    app.config["MAX_CONTENT_LENGTH"] = 100
    small = buy(client, account, {**BUY, "operator": "x" * 200})
    assert small.status_code == 413
    assert balance(account) == Decimal("10.00")


def test_a_body_that_is_not_json_says_so(client, make_user):
    account = make_user()
    form = client.post("/api/v1/activations", data=BUY, headers=account.headers)
    assert form.status_code == 415 and form.json["error"] == "unsupported_media_type"
    assert "application/json" in form.json["message"]
    text = client.post(
        "/api/v1/activations", data=json.dumps(BUY), headers={**account.headers, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    empty = client.post("/api/v1/activations", headers=account.headers)
    assert empty.status_code == 422 and "serviceCode" in empty.json["errors"]["json"]


def test_a_wrong_method_answers_405_with_the_allowed_ones(client, make_user):
    answer = client.delete("/api/v1/wallet/balance", headers=make_user().headers)
    assert answer.status_code == 405 and answer.json["error"] == "method_not_allowed"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}


def test_an_over_long_url_and_over_large_headers_are_json_errors(client, make_user):
    account = make_user()
    long_url = client.get("/api/v1/activations?status=" + "x" * 5000, headers=account.headers)
    assert long_url.status_code == 414 and long_url.json["error"] == "uri_too_long"
    big_headers = client.get("/api/v1/wallet/balance", headers={**account.headers, "X-Pad": "p" * 20_000})
    assert big_headers.status_code == 431 and big_headers.json["error"] == "headers_too_large"


def test_the_purchase_example_of_the_openapi_document_buys(client, make_user):
    """Swagger UI's "Try it out" sends this example as it comes: it must be a valid purchase."""
    spec = client.get("/api/openapi.json").json
    example = spec["paths"]["/api/v1/activations"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert buy(client, make_user(), example).status_code == 201
