"""Routing with failover: every failure class, the price rule, ambiguous purchases, the breaker."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import Activation, Provider
from smsbulk.services import health, lifecycle, recovery, routing
from tests.factories import assert_ledger_exact, balance, refunds
from tests.stubs import Reply, StubServer, closed_port_url

from .fakes import KEY, FakeUpstream, connect_provider, dead_provider, simulator_off

BUY = {"serviceCode": "wa", "countryIso": "TR"}


@pytest.fixture
def upstream():
    fake = FakeUpstream(cost="0.20")
    with StubServer(fake.handle) as server:
        server.fake = fake
        yield server


@pytest.fixture
def second():
    fake = FakeUpstream(cost="0.20")
    with StubServer(fake.handle) as server:
        server.fake = fake
        yield server


def buy(client, account) -> dict:
    answer = client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert answer.status_code == 201, answer.json
    return answer.json


def row(activation_id: int) -> Activation:
    with db.connection_context():
        return Activation.select(Activation, Provider).join(Provider).where(Activation.id == activation_id).get()


def test_a_cheaper_dead_provider_ahead_costs_a_failed_call_then_its_circuit_opens(app, client, make_user, upstream):
    app.config["PROVIDER_BREAKER_THRESHOLD"] = 2
    simulator_off()
    connect_provider("live", upstream.url, priority=10)  # cost 0.20 -> user price 0.25
    dead_provider("dead", closed_port_url(), cost="0.19", priority=1)  # user price 0.24: quoted first
    account = make_user()
    first, second, third = (buy(client, account) for _ in range(3))
    assert [a["status"] for a in (first, second, third)] == ["WAITING"] * 3
    assert {row(a["legacyId"]).provider.name for a in (first, second, third)} == {"live"}
    # The user paid the quote; we paid the live cost, never more than the user paid.
    assert [first["userCost"], second["userCost"]] == ["0.24", "0.24"]
    assert third["userCost"] == "0.25"  # circuit open after two failures: the dead offer is no longer quoted
    assert all(row(a["legacyId"]).provider_cost <= Decimal(a["userCost"]) for a in (first, second, third))
    with db.connection_context():
        assert health.breaker().is_open(Provider.get(Provider.name == "dead").id)
    assert upstream.count(action="getNumberV2") == 3
    assert_ledger_exact(account)


def test_failover_never_buys_an_offer_that_costs_more_than_the_user_paid(app, client, make_user, upstream):
    simulator_off()
    connect_provider("live", upstream.url, priority=10)  # cost 0.20
    dead_provider("dead", closed_port_url(), cost="0.10", priority=1)  # user price 0.13
    account = make_user()
    bought = buy(client, account)
    assert bought["status"] == "FAILED" and bought["userCost"] == "0.13"
    assert upstream.count(action="getNumberV2") == 0  # 0.20 > 0.13: selling would be at a loss
    assert balance(account) == Decimal("10.00") and refunds(bought["legacyId"]) == 1


@pytest.mark.parametrize(
    ("reply", "counts_as_unhealthy"),
    [
        (Reply(body="NO_NUMBERS"), False),
        (Reply(body="WRONG_MAX_PRICE:0.90"), False),
        (Reply(body="NO_BALANCE"), False),
        (Reply(body="BAD_SERVICE"), False),
        (Reply(body="ERROR_SQL"), True),
        (Reply(status=503, body="busy"), True),
        (Reply(hang_up=True), None),  # the request was sent: ambiguous, never bought again
    ],
)
def test_each_failure_class_of_the_first_provider(app, client, make_user, upstream, second, reply, counts_as_unhealthy):
    simulator_off()
    first_row = connect_provider("first", upstream.url, priority=1)
    connect_provider("second", second.url, priority=2)
    upstream.fake.scripted["getNumberV2"] = reply
    account = make_user()
    bought = buy(client, account)
    with db.connection_context():
        failures = health.breaker().failures(first_row.id)
    if counts_as_unhealthy is None:
        assert bought["status"] == "FAILED" and refunds(bought["legacyId"]) == 1
        assert second.count(action="getNumberV2") == 0
        assert failures == 1  # the reconciling list call answered, and that resets nothing
    else:
        assert bought["status"] == "WAITING" and row(bought["legacyId"]).provider.name == "second"
        assert failures == int(counts_as_unhealthy)
    assert upstream.count(action="getNumberV2") == 1
    assert_ledger_exact(account)


def test_an_answer_lost_to_a_timeout_is_reconciled_from_the_active_list(app, client, make_user, upstream, second):
    app.config["PROVIDER_TIMEOUT_SECONDS"] = 0.3
    simulator_off()
    connect_provider("first", upstream.url, priority=1)
    connect_provider("second", second.url, priority=2)
    upstream.fake.open("6999999", service="tg")  # another service: not a candidate
    upstream.fake.slow_buy = 1.0
    account = make_user()
    bought = buy(client, account)
    adopted = row(bought["legacyId"])
    assert bought["status"] == "WAITING" and adopted.provider.name == "first"
    assert adopted.provider_ref == "7000001" and adopted.phone_number == "905327000001"
    assert upstream.count(action="getNumberV2") == 1 and second.count(action="getNumberV2") == 0
    assert_ledger_exact(account)


def test_a_lost_answer_with_nothing_to_find_is_refunded_not_bought_again(app, client, make_user, upstream, second):
    simulator_off()
    connect_provider("first", upstream.url, priority=1)
    connect_provider("second", second.url, priority=2)
    upstream.fake.scripted["getNumberV2"] = Reply(hang_up=True)
    account = make_user()
    bought = buy(client, account)
    assert bought["status"] == "FAILED" and refunds(bought["legacyId"]) == 1
    assert second.count(action="getNumberV2") == 0
    assert balance(account) == Decimal("10.00")


def test_two_unknown_open_numbers_are_not_guessed_between(app, client, make_user, upstream):
    simulator_off()
    connect_provider("first", upstream.url, priority=1)
    upstream.fake.scripted["getNumberV2"] = Reply(hang_up=True)
    upstream.fake.open("6999991")
    upstream.fake.open("6999992")
    account = make_user()
    bought = buy(client, account)
    assert bought["status"] == "FAILED" and refunds(bought["legacyId"]) == 1


def test_the_sweeper_finds_the_number_of_a_purchase_whose_job_died(app, make_user, upstream):
    from tests.workers.test_jobs import pending_activation

    simulator_off()
    provider = connect_provider("first", upstream.url, priority=1)
    account = make_user()
    activation_id = pending_activation(app, account)
    # The job recorded its attempt, asked the upstream (which sold the number) and died.
    with db.connection_context():
        Activation.update(
            attempts=1,
            attempt_started_at=datetime.datetime(2000, 1, 1),
            attempt_provider=provider.id,
            attempt_ref=f"{activation_id}-1",
        ).where(Activation.id == activation_id).execute()
    upstream.fake.open("7100000")
    with db.connection_context():
        assert recovery.recover(now=datetime.datetime(2100, 1, 1))["adopted"] == 1
    found = row(activation_id)
    assert (found.status, found.provider_ref) == ("WAITING", "7100000")
    assert upstream.count(action="getNumberV2") == 0  # never bought again


def test_a_disabled_provider_sells_nothing_but_its_open_activations_are_still_followed(
    app, client, make_user, upstream, runner
):
    app.config["SIMULATOR_SMS_DELAY_SECONDS"] = 3600
    upstream.fake.stock = {(62, "wa"): ("0.10", 50)}  # below the simulator's 0.187
    connect_provider("live", upstream.url, priority=1)
    account = make_user()
    held = buy(client, account)
    assert row(held["legacyId"]).provider.name == "live"
    assert runner.invoke(args=["providers", "disable", "live"]).exit_code == 0
    later = buy(client, account)
    assert row(later["legacyId"]).provider.name == "simulator"
    ref = row(held["legacyId"]).provider_ref
    upstream.fake.deliver(ref, "424242")
    with db.connection_context():
        lifecycle.poll_once()
    assert client.get(f"/api/v1/activations/{held['id']}", headers=account.headers).json["smsCode"] == "424242"
    client.post(f"/api/v1/activations/{held['id']}/finish", headers=account.headers)
    assert upstream.fake.activations[ref]["state"] == "finished"
    assert upstream.count(action="getNumberV2") == 1


def test_the_adapter_timeout_is_a_setting(app, upstream):
    app.config["PROVIDER_TIMEOUT_SECONDS"] = 1.5
    provider = connect_provider("live", upstream.url)
    with db.connection_context():
        assert routing.adapter_for(Provider.get_by_id(provider.id)).timeout == (1.5, 1.5)
    assert KEY not in repr(routing.adapter_for(provider))
