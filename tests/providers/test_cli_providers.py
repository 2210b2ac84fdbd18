"""`flask providers ...`: configuration in the database, effective without a restart, keys masked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import Price, Provider
from tests.stubs import StubServer, closed_port_url

from .fakes import KEY, FakeUpstream


@pytest.fixture
def upstream():
    fake = FakeUpstream(cost="0.10")
    with StubServer(fake.handle) as server:
        yield server


def invoke(runner, *args):
    return runner.invoke(args=["providers", *args])


def test_add_list_sync_and_set_manage_a_provider_with_its_key_masked(runner, upstream, caplog):
    added = invoke(runner, "add", "hero", "--kind", "sms-activate", "--base-url", upstream.url, "--api-key", KEY)
    assert added.exit_code == 0 and "hero: 1 prices" in added.output, added.output
    invoke(runner, "set", "hero", "--priority", "5", "--markup", "1.5")
    listed = invoke(runner, "list").output
    assert "hero" in listed and "priority=5" in listed and "markup=1.5" in listed and "****BCDE" in listed
    assert KEY not in listed and KEY not in caplog.text
    with db.connection_context():
        assert Price.get(Price.provider == Provider.get(Provider.name == "hero")).user_price == Decimal("0.15")
    assert "hero: 1 prices" in invoke(runner, "sync", "hero").output


def test_a_dead_upstream_keeps_its_old_prices_and_says_so(runner, upstream):
    invoke(runner, "add", "hero", "--kind", "sms-activate", "--base-url", upstream.url, "--api-key", KEY)
    moved = invoke(runner, "set", "hero", "--base-url", closed_port_url())
    assert moved.exit_code == 0 and "sync failed" in moved.output
    with db.connection_context():
        assert Price.select().join(Provider).where(Provider.name == "hero").count() == 1


def test_disable_and_enable_take_effect_at_once(runner, client, make_user):
    account = make_user()
    buy = {"serviceCode": "wa", "countryIso": "TR"}
    assert invoke(runner, "disable", "simulator").exit_code == 0
    assert client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json == []
    refused = client.post("/api/v1/activations", json=buy, headers=account.headers)
    assert refused.status_code == 503  # no numbers
    assert "disabled, not synced" in invoke(runner, "sync", "simulator").output
    assert invoke(runner, "enable", "simulator").exit_code == 0
    assert client.post("/api/v1/activations", json=buy, headers=account.headers).json["status"] == "WAITING"


@pytest.mark.parametrize(
    "args",
    [
        ["add", "x", "--kind", "sms-activate", "--api-key", KEY],  # no URL
        ["add", "x", "--kind", "sms-activate", "--base-url", "ftp://host", "--api-key", KEY],
        ["add", "x", "--kind", "5sim"],  # no key
        ["add", "x", "--kind", "carrier-pigeon"],
        ["add", "simulator", "--kind", "simulator"],  # exists
        ["add", "x", "--kind", "simulator", "--markup", "0"],
        ["add", "x", "--kind", "simulator", "--markup", "abc"],
        ["enable", "nobody"],
        ["sync", "nobody"],
    ],
)
def test_settings_that_cannot_work_are_clear_errors(runner, args):
    result = invoke(runner, *args)
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
