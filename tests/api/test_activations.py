from decimal import Decimal

import pytest

from tests.factories import assert_ledger_exact, balance
from workers.tasks import poll_statuses

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def buy(client, account, body=None, headers=None):
    return client.post("/api/v1/activations", json=body or BUY, headers={**account.headers, **(headers or {})})


def test_a_purchase_answers_every_field_the_spec_names(client, make_user):
    account = make_user()
    body = buy(client, account).json
    for field in ("id", "legacyId", "phoneNumber", "status", "userCost", "serviceCode", "countryIso", "createdAt"):
        assert field in body
    assert body["id"].startswith("act_") and isinstance(body["legacyId"], int) and body["legacyId"] < 2**31
    assert body["phoneNumber"].isdigit()
    assert body["createdAt"].endswith("Z") and body["expiresAt"].endswith("Z")


@pytest.mark.parametrize("country", [{"countryId": 62}, {"countryIso": "tr"}, {"countryIso": "turkey"}])
def test_a_country_is_accepted_as_id_iso_code_or_slug(client, make_user, country):
    body = buy(client, make_user(), {"serviceCode": "tg", **country}).json
    assert body["countryIso"] == "TR" and body["phoneNumber"].startswith("90")


def test_iso_us_means_real_usa_numbers(client, make_user):
    body = buy(client, make_user(), {"serviceCode": "tg", "countryIso": "US"}).json
    assert body["countryId"] == 187 and body["phoneNumber"].startswith("1")


def test_another_users_activation_is_not_found(client, make_user):
    owner, stranger = make_user(), make_user()
    activation = buy(client, owner).json
    for path in ("", "/cancel", "/finish", "/retry"):
        method = client.get if not path else client.post
        answer = method(f"/api/v1/activations/{activation['id']}{path}", headers=stranger.headers)
        assert answer.status_code == 404 and answer.json["error"] == "activation_not_found"
    assert balance(owner) == Decimal("10.00") - Decimal(activation["userCost"])


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({"serviceCode": "nope", "countryIso": "TR"}, 404, "unknown_service"),
        ({"serviceCode": "wa", "countryIso": "ZZ"}, 404, "unknown_country"),
        ({"serviceCode": "wa", "countryId": 99999}, 404, "unknown_country"),
        ({"serviceCode": "wa"}, 422, "validation_error"),
        ({"serviceCode": "wa", "countryIso": "TR", "countryId": 62}, 422, "validation_error"),
        ({"serviceCode": "wa", "countryIso": "TR", "maxPrice": "abc"}, 422, "validation_error"),
        ({"serviceCode": "wa", "countryIso": "TR", "bogus": 1}, 422, "validation_error"),
        ({"serviceCode": 5, "countryIso": "TR"}, 422, "validation_error"),
        ({"serviceCode": "wa", "countryIso": "TR", "maxPrice": "0.01"}, 409, "max_price_too_low"),
        ({"serviceCode": "full", "countryIso": "TR"}, 503, "no_numbers"),
    ],
)
def test_bad_purchases_are_4xx_or_503_json_errors_and_move_no_money(client, make_user, body, status, error):
    account = make_user()
    answer = buy(client, account, body)
    assert answer.status_code == status, answer.json
    assert answer.json["error"] == error and answer.json["message"]
    assert balance(account) == Decimal("10.00")


@pytest.mark.parametrize("data", ["{not json", "[]", '"x"', "null", ""])
def test_malformed_json_is_a_4xx_json_error(client, make_user, data):
    account = make_user()
    answer = client.post(
        "/api/v1/activations", data=data, headers={**account.headers, "Content-Type": "application/json"}
    )
    assert 400 <= answer.status_code < 500
    assert answer.json["error"]
    assert balance(account) == Decimal("10.00")


def test_an_unknown_path_or_method_is_a_json_error(client, make_user):
    account = make_user()
    assert client.get("/api/v1/nothing", headers=account.headers).json["error"] == "not_found"
    assert client.delete("/api/v1/wallet/balance", headers=account.headers).status_code == 405


def test_no_money_no_number(client, make_user):
    account = make_user("0.05")
    answer = buy(client, account)
    assert answer.status_code == 402 and answer.json["error"] == "insufficient_balance"
    assert balance(account) == Decimal("0.05")
    assert_ledger_exact(account)


def test_cancel_refunds_in_full_once(client, make_user):
    account = make_user()
    activation = buy(client, account).json
    first = client.post(f"/api/v1/activations/{activation['id']}/cancel", headers=account.headers)
    again = client.post(f"/api/v1/activations/{activation['id']}/cancel", headers=account.headers)
    assert first.status_code == again.status_code == 200
    assert first.json["status"] == again.json["status"] == "CANCELED"
    assert balance(account) == Decimal("10.00")
    assert_ledger_exact(account)


def test_cancel_inside_the_early_cancel_lock_is_refused(app, client, make_user):
    app.config["CANCEL_LOCK_SECONDS"] = 120
    account = make_user()
    activation = buy(client, account).json
    answer = client.post(f"/api/v1/activations/{activation['id']}/cancel", headers=account.headers)
    assert answer.status_code == 409 and answer.json["error"] == "early_cancel_denied"
    assert balance(account) == Decimal("10.00") - Decimal(activation["userCost"])


def test_after_a_code_cancel_is_refused_and_the_money_kept_then_retry_and_finish(client, make_user):
    account = make_user()
    activation = buy(client, account).json
    url = f"/api/v1/activations/{activation['id']}"
    poll_statuses()
    assert client.get(url, headers=account.headers).json["status"] == "RECEIVED"
    refused = client.post(f"{url}/cancel", headers=account.headers)
    assert refused.status_code == 409 and refused.json["error"] == "invalid_state"

    retry = client.post(f"{url}/retry", headers=account.headers).json
    assert retry["status"] == "RETRY"
    poll_statuses()
    again = client.get(url, headers=account.headers).json
    assert again["status"] == "RECEIVED" and len(again["sms"]) == 2
    assert again["smsCode"] == again["sms"][-1]["code"]

    done = client.post(f"{url}/finish", headers=account.headers).json
    assert done["status"] == "COMPLETED"
    assert balance(account) == Decimal("10.00") - Decimal(activation["userCost"])
    assert_ledger_exact(account)


def test_finish_before_a_code_is_a_conflict(client, make_user):
    account = make_user()
    activation = buy(client, account).json
    answer = client.post(f"/api/v1/activations/{activation['id']}/finish", headers=account.headers)
    assert answer.status_code == 409


def test_an_idempotency_key_returns_the_first_purchase_instead_of_buying_twice(client, make_user):
    account = make_user()
    first = buy(client, account, headers={"Idempotency-Key": "order-1"})
    second = buy(client, account, headers={"Idempotency-Key": "order-1"})
    assert first.json["id"] == second.json["id"]
    assert balance(account) == Decimal("10.00") - Decimal(first.json["userCost"])


def test_the_list_is_newest_first_filterable_and_paginated(client, make_user):
    account = make_user()
    ids = [buy(client, account).json["id"] for _ in range(3)]
    client.post(f"/api/v1/activations/{ids[0]}/cancel", headers=account.headers)
    listed = client.get("/api/v1/activations", headers=account.headers)
    assert [a["id"] for a in listed.json] == ids[::-1]
    canceled = client.get("/api/v1/activations?status=CANCELED", headers=account.headers).json
    assert [a["id"] for a in canceled] == [ids[0]]
    page = client.get("/api/v1/activations?page=2&page_size=2", headers=account.headers)
    assert [a["id"] for a in page.json] == [ids[0]]
    assert '"total": 3' in page.headers["X-Pagination"]


def test_wallet_transactions_are_the_ledger_newest_first(client, make_user):
    account = make_user()
    activation = buy(client, account).json
    client.post(f"/api/v1/activations/{activation['id']}/cancel", headers=account.headers)
    entries = client.get("/api/v1/wallet/transactions", headers=account.headers).json
    assert [e["kind"] for e in entries] == ["refund", "purchase", "deposit"]
    assert entries[0]["amount"] == activation["userCost"]
    assert entries[1]["amount"] == f"-{activation['userCost']}"
    assert entries[0]["activationId"] == activation["id"]


def test_catalog_lists_countries_services_and_prices(client, make_user):
    account = make_user()
    countries = client.get("/api/v1/catalog/countries", headers=account.headers).json
    assert {"id": 62, "iso": "TR", "name": "Turkey", "slug": "turkey"} in countries
    assert len(countries) == 205
    services = client.get("/api/v1/catalog/services", headers=account.headers).json
    assert {"code": "wa", "name": "Whatsapp"} in services or any(s["code"] == "wa" for s in services)
    prices = client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json
    assert len(prices) == 1 and prices[0]["stock"] > 0
    assert prices[0]["price"] == buy(client, account).json["userCost"]


@pytest.mark.parametrize(
    "path", ["/api/v1/activations/²", "/api/v1/catalog/prices?countryIso=²", "/api/v1/catalog/prices?countryIso=٣"]
)
def test_unicode_digits_are_not_found_not_a_crash(client, make_user, path):
    answer = client.get(path, headers=make_user().headers)
    assert answer.status_code == 404 and answer.json["error"]


def test_prices_carry_the_country_id_and_iso_code(client, make_user):
    prices = client.get("/api/v1/catalog/prices?serviceCode=wa&countryId=62", headers=make_user().headers).json
    assert prices[0]["countryId"] == 62 and prices[0]["countryIso"] == "TR" and prices[0]["serviceCode"] == "wa"
