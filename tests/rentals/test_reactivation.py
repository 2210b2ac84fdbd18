"""Reactivation: complete an activation, buy its number again, get a second code on the same phone."""

from __future__ import annotations

from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Activation
from tests.factories import assert_ledger_exact, balance, refunds

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def completed(client, account, deliver) -> dict:
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    deliver()
    return client.post(f"/api/v1/activations/{bought['id']}/finish", headers=account.headers).json


def test_a_completed_number_is_bought_again_after_a_price_check_and_gets_a_second_code(client, make_user, deliver):
    account = make_user("10.00")
    first = completed(client, account, deliver)
    quote = client.get(f"/api/v1/activations/{first['id']}/reactivation", headers=account.headers).json
    assert (quote["phoneNumber"], quote["serviceCode"], quote["activationId"]) == (
        first["phoneNumber"],
        "wa",
        first["id"],
    )
    again = client.post(
        f"/api/v1/activations/{first['id']}/reactivate", json={"maxPrice": quote["price"]}, headers=account.headers
    )
    assert again.status_code == 201
    second = again.json
    assert second["id"] != first["id"] and second["phoneNumber"] == first["phoneNumber"]
    assert (second["status"], second["userCost"]) == ("WAITING", quote["price"])
    deliver()
    code = client.get(f"/api/v1/activations/{second['id']}", headers=account.headers).json["smsCode"]
    assert code and code != first["smsCode"]
    client.post(f"/api/v1/activations/{second['id']}/finish", headers=account.headers)
    assert balance(account) == Decimal("10.00") - Decimal(first["userCost"]) - Decimal(quote["price"])
    with db.connection_context():
        assert Activation.get_by_id(second["legacyId"]).reactivation_of_id == first["legacyId"]
    assert_ledger_exact(account)


def test_a_reactivation_follows_the_normal_money_rules(client, make_user, deliver):
    account = make_user("10.00")
    first = completed(client, account, deliver)
    second = client.post(f"/api/v1/activations/{first['id']}/reactivate", json={}, headers=account.headers).json
    cancelled = client.post(f"/api/v1/activations/{second['id']}/cancel", headers=account.headers).json
    assert cancelled["status"] == "CANCELED" and refunds(second["legacyId"]) == 1
    assert balance(account) == Decimal("10.00") - Decimal(first["userCost"])
    assert_ledger_exact(account)


def test_only_a_completed_activation_of_ones_own_can_be_reactivated(client, make_user, deliver):
    account, stranger = make_user("10.00"), make_user("10.00")
    waiting = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    refused = client.get(f"/api/v1/activations/{waiting['id']}/reactivation", headers=account.headers)
    assert refused.status_code == 409 and refused.json["error"] == "reactivation_unavailable"
    theirs = completed(client, stranger, deliver)
    assert (
        client.post(f"/api/v1/activations/{theirs['id']}/reactivate", json={}, headers=account.headers).status_code
        == 404
    )
    mine = completed(client, account, deliver)
    low = client.post(
        f"/api/v1/activations/{mine['id']}/reactivate", json={"maxPrice": "0.01"}, headers=account.headers
    )
    assert low.status_code == 409 and low.json["error"] == "max_price_too_low"
    assert balance(account) == Decimal("10.00") - Decimal(waiting["userCost"]) - Decimal(mine["userCost"])


def test_a_number_the_provider_will_not_sell_again_is_refunded(client, make_user, deliver, monkeypatch):
    from smsbulk.providers.base import NoNumbersError
    from smsbulk.providers.simulator import SimulatorProvider

    account = make_user("10.00")
    first = completed(client, account, deliver)

    def refuse(self, ref, service, country_id, phone, max_cost, reference):
        raise NoNumbersError("SIM_OFFLINE")

    monkeypatch.setattr(SimulatorProvider, "reactivate", refuse)
    failed = client.post(f"/api/v1/activations/{first['id']}/reactivate", json={}, headers=account.headers).json
    assert failed["status"] == "FAILED" and refunds(failed["legacyId"]) == 1
    assert balance(account) == Decimal("10.00") - Decimal(first["userCost"])
    assert_ledger_exact(account)


def test_the_legacy_extra_activation_takes_activation_id_or_id(legacy, make_user, deliver):
    account = make_user("10.00")
    bought = legacy.text(account.key, "getNumber", service="wa", country="62")
    first_id, phone = bought.split(":")[1:]
    assert legacy.text(account.key, "checkExtraActivation", activationId=first_id) == "RENEW_ACTIVATION_NOT_AVAILABLE"
    deliver()
    assert legacy.text(account.key, "setStatus", id=first_id, status="6") == "ACCESS_ACTIVATION"
    check = legacy.text(account.key, "checkExtraActivation", id=first_id)
    assert check.startswith('{"status":"success","cost":') and f'"phone":{phone},"country":62}}' in check
    again = legacy.text(account.key, "getExtraActivation", activationId=first_id)
    token, new_id, new_phone = again.split(":")
    assert (token, new_phone) == ("ACCESS_NUMBER", phone) and new_id != first_id
    deliver()
    assert legacy.text(account.key, "getStatus", id=new_id).startswith("STATUS_OK:")
    assert legacy.text(account.key, "getExtraActivation", id="999") == "WRONG_ACTIVATION_ID"
    assert legacy.text(account.key, "getExtraActivation") == "WRONG_ACTIVATION_ID"
    assert_ledger_exact(account)
