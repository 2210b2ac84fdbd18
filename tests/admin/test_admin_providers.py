from decimal import Decimal

import pytest

from smsbulk.errors import BadRequest
from smsbulk.extensions import db
from smsbulk.models import Event, Price, Provider
from smsbulk.services import admin_providers, events, health
from tests.providers.fakes import KEY


def trail(operator):
    with db.connection_context():
        found = Event.select().where(Event.user == operator.user_id).order_by(Event.id)
        return [(e.type, events.payload_of(e)) for e in found]


def test_add_change_disable_enable_and_sync_are_audited_and_take_effect(app, operator):
    with db.connection_context():
        added = admin_providers.add(operator, "backup", "simulator", priority="50", markup="1.5")
        assert added["backup"] > 1000
        backup = Provider.get(Provider.name == "backup")
        assert (backup.priority, backup.markup, backup.enabled) == (50, Decimal("1.5000"), True)
        admin_providers.change(operator, "backup", priority="7", markup="")
        assert Provider.get_by_id(backup.id).priority == 7
        assert admin_providers.set_enabled(operator, "backup", False) == {}
        assert not Provider.get_by_id(backup.id).enabled
        assert admin_providers.set_enabled(operator, "backup", True)["backup"] > 1000
        assert admin_providers.sync(operator)["simulator"] > 1000
        listed = {view.name: view for view in admin_providers.overview().providers}
    assert list(listed) == ["backup", "simulator"]  # routing order: priority 7 first
    assert listed["backup"].circuit == "closed" and listed["backup"].markup == Decimal("1.5000")
    assert [(t, p["action"], p["target"]) for t, p in trail(operator)] == [
        ("admin.provider_added", "provider_added", "provider backup"),
        ("admin.provider_changed", "provider_changed", "provider backup"),
        ("admin.provider_disabled", "provider_disabled", "provider backup"),
        ("admin.provider_enabled", "provider_enabled", "provider backup"),
        ("admin.prices_synced", "prices_synced", "every provider"),
    ]
    assert trail(operator)[1][1]["priority"] == 7 and trail(operator)[-1][1]["result"]["backup"] > 1000


def test_a_providers_key_never_reaches_the_audit_trail(app, operator):
    with db.connection_context():
        admin_providers.add(operator, "upstream", "sms-activate", base_url="http://127.0.0.1:9", api_key=KEY)
        admin_providers.change(operator, "upstream", api_key=KEY + "x")
        view = {v.name: v for v in admin_providers.overview().providers}["upstream"]
    assert view.api_key == "****" + (KEY + "x")[-4:]  # masked, and the new key
    payloads = [payload for _, payload in trail(operator)]
    assert all(KEY not in str(payload) for payload in payloads)
    assert [payload.get("api_key") for payload in payloads] == ["changed", "changed"]


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"priority": "-1"}, "priority"),
        ({"priority": "abc"}, "priority"),
        ({"priority": "1000001"}, "priority"),
        ({"markup": "0"}, "markup"),
        ({"markup": "-1"}, "markup"),
        ({"markup": "1.00001"}, "markup"),
        ({"markup": "NaN"}, "markup"),
        ({"markup": "101"}, "markup"),
    ],
)
def test_a_setting_out_of_range_is_refused_and_nothing_changes(app, operator, settings, field):
    with db.connection_context():
        with pytest.raises(BadRequest) as refused:
            admin_providers.change(operator, "simulator", **settings)
        assert refused.value.details["field"] == field
        assert Provider.get(Provider.name == "simulator").priority == 100
    assert trail(operator) == []


@pytest.mark.parametrize(
    "name, kind, settings",
    [
        ("", "simulator", {}),
        ("simulator", "simulator", {}),  # exists
        ("x", "nope", {}),
        ("x", "sms-activate", {"api_key": KEY}),  # no base URL
        ("x", "sms-activate", {"base_url": "ftp://x", "api_key": KEY}),
        ("x", "5sim", {}),  # no key
    ],
)
def test_a_provider_that_cannot_work_is_refused_with_the_reason(app, operator, name, kind, settings):
    with db.connection_context():
        with pytest.raises(BadRequest) as refused:
            admin_providers.add(operator, name, kind, **settings)
        assert refused.value.message
        assert Provider.select().count() == 1
    assert trail(operator) == []


def test_an_unknown_provider_and_an_empty_change_are_refused(app, operator):
    with db.connection_context():
        for call in (
            lambda: admin_providers.change(operator, "nope", priority="1"),
            lambda: admin_providers.set_enabled(operator, "nope", False),
            lambda: admin_providers.sync(operator, "nope"),
            lambda: admin_providers.change(operator, "simulator"),
            lambda: admin_providers.overview(balance_of="nope"),
        ):
            with pytest.raises(BadRequest):
                call()


def test_the_upstream_balance_is_asked_only_when_wanted_and_a_dead_upstream_is_a_message(app, operator):
    with db.connection_context():
        assert admin_providers.overview().balance is None
        assert admin_providers.overview("simulator").balance == admin_providers.Balance(
            "simulator", Decimal("1000000.00")
        )
        admin_providers.add(operator, "dead", "sms-activate", base_url="http://127.0.0.1:9", api_key=KEY)
        dead = admin_providers.overview("dead").balance
        provider = Provider.get(Provider.name == "dead")
    assert dead.amount is None and "did not answer" in dead.error and KEY not in dead.error
    assert health.breaker().failures(provider.id) >= 1  # the failed call counted against its health


def test_a_disabled_provider_sells_nothing_until_enabled(app, operator, client, make_user):
    account = make_user()
    with db.connection_context():
        admin_providers.set_enabled(operator, "simulator", False)
    assert client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json == []
    with db.connection_context():
        admin_providers.set_enabled(operator, "simulator", True)
        assert Price.select().count() > 1000
    assert client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json != []
