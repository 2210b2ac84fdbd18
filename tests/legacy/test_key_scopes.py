"""Scopes, IP allowlists and expiry on the legacy endpoint: refused with BAD_KEY, HTTP 200."""

import datetime

import pytest
import smsactivate.api as smsactivate
import smsactivateru

from smsbulk import create_app
from smsbulk.extensions import db
from smsbulk.models import Activation, ApiKey
from tests.factories import balance

from .conftest import PATH, Legacy
from .test_client_libraries import base_url, official  # noqa: F401 - the server fixture


def test_a_key_without_the_purchase_scope_gets_bad_key_with_403_for_tooling(legacy, make_user):
    account = make_user("5.00", scopes=["read"])
    refused = legacy(account.key, "getNumber", service="wa", country="62")
    assert (refused.status_code, refused.data, refused.headers["X-Status-Code"]) == (200, b"BAD_KEY", "403")
    assert legacy.text(account.key, "getNumberV2", service="wa", country="62") == "BAD_KEY"
    assert legacy.text(account.key, "setStatus", id="1", status="8") == "BAD_KEY"
    rent = legacy(account.key, "getRentNumber", service="wa")
    assert rent.get_data(as_text=True) == "BAD_KEY"  # plain on the rent side too (reference §4.4), as a wrong key
    assert legacy.text(account.key, "getBalance") == "ACCESS_BALANCE:5.00"  # read: allowed
    assert legacy.text(account.key, "getStatus", id="1") == "NO_ACTIVATION"
    assert balance(account) == 5
    with db.connection_context():
        assert Activation.select().count() == 0


def test_a_key_without_the_read_scope_buys_and_sets_statuses_but_reads_nothing(legacy, make_user):
    account = make_user("5.00", scopes=["purchase"])
    assert legacy.text(account.key, "getBalance") == "BAD_KEY"
    assert legacy.text(account.key, "getPrices", service="wa", country="62") == "BAD_KEY"
    number = legacy.text(account.key, "getNumber", service="wa", country="62")
    assert number.startswith("ACCESS_NUMBER:")
    assert legacy.text(account.key, "getStatus", id=number.split(":")[1]) == "BAD_KEY"
    assert legacy.text(account.key, "setStatus", id=number.split(":")[1], status="8") == "ACCESS_CANCEL"
    assert legacy.text(make_user(scopes=["keys"]).key, "getBalance") == "BAD_KEY"


def test_the_client_libraries_see_a_scope_refusal_as_their_bad_key_error(base_url, make_user):  # noqa: F811
    reader = make_user("5.00", scopes=["read"])
    api = official(reader.key, base_url)
    assert api.getBalance() == {"balance": "5.00"}
    assert api.getNumber(service="wa", country=62) == {"error": "BAD_KEY", "message": "Invalid API access key"}
    wrapper = smsactivateru.Sms(reader.key)
    wrapper.url = base_url
    with pytest.raises(Exception) as refused:
        smsactivateru.GetNumber(service=smsactivateru.SmsService().Whatsapp, country="62").request(wrapper)
    assert refused.value.code == "BAD_KEY"
    assert isinstance(api, smsactivate.SMSActivateAPI)


def test_an_allowlisted_key_is_bad_key_from_elsewhere(client, make_user):
    account = make_user(allowed_ips=["203.0.113.0/24"])

    def balance_from(address, **headers):
        values = {"action": "getBalance", "api_key": account.key}
        answer = client.get(PATH, query_string=values, headers=headers, environ_base={"REMOTE_ADDR": address})
        return answer.get_data(as_text=True), answer.headers["X-Status-Code"]

    assert balance_from("203.0.113.9") == ("ACCESS_BALANCE:10.00", "200")
    assert balance_from("198.51.100.1") == ("BAD_KEY", "401")
    assert balance_from("198.51.100.1", **{"X-Forwarded-For": "203.0.113.9"}) == ("BAD_KEY", "401")


def test_behind_one_trusted_proxy_the_legacy_allowlist_checks_the_forwarded_address(app, make_user):
    account = make_user(allowed_ips=["203.0.113.0/24"])
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    with proxied.app_context():
        legacy = Legacy(proxied.test_client())
        via = {"REMOTE_ADDR": "10.0.0.2"}
        inside = legacy.client.get(
            PATH,
            query_string={"action": "getBalance", "api_key": account.key},
            headers={"X-Forwarded-For": "203.0.113.9"},
            environ_base=via,
        )
        outside = legacy.client.post(
            PATH,
            data={"action": "getBalance", "api_key": account.key},
            headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.7"},
            environ_base=via,
        )
    assert inside.data == b"ACCESS_BALANCE:10.00" and outside.data == b"BAD_KEY"


def test_an_expired_key_is_bad_key(legacy, make_user):
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    account = make_user(expires_at=soon)
    assert legacy.text(account.key, "getBalance") == "ACCESS_BALANCE:10.00"
    with db.connection_context():
        ApiKey.update(expires_at=datetime.datetime(2000, 1, 1)).where(ApiKey.id == account.key_id).execute()
    assert legacy.text(account.key, "getBalance") == "BAD_KEY"
