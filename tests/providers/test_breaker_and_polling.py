"""The circuit breaker, and batched polling: one upstream call per provider per cycle."""

from __future__ import annotations

import datetime
import time

import pytest

from smsbulk.extensions import db, get_redis
from smsbulk.models import Activation, LedgerEntry, Sms
from smsbulk.models.base import utcnow
from smsbulk.providers.base import NoNumbersError, PermanentProviderError, RetryableProviderError
from smsbulk.providers.breaker import Breaker
from smsbulk.services import lifecycle
from smsbulk.services.activations import new_public_id
from tests.stubs import StubServer

from .fakes import TURKEY, FakeUpstream, connect_provider


@pytest.fixture
def breaker(app):
    return Breaker(get_redis(), threshold=3, cooldown=30, prefix="test-breaker")


def test_the_circuit_opens_after_threshold_failures_in_a_row(breaker):
    for _ in range(2):
        assert breaker.record(7, RetryableProviderError("down")) is False
    assert not breaker.is_open(7)
    assert breaker.record(7, RetryableProviderError("down")) is True
    assert breaker.is_open(7) and breaker.open_ids([7, 8]) == {7}


def test_any_answer_from_the_upstream_resets_the_count(breaker):
    breaker.record(7, RetryableProviderError("down"))
    breaker.record(7, RetryableProviderError("down"))
    breaker.record(7, NoNumbersError("none"))  # it answered: it is up
    breaker.record(7, PermanentProviderError("bad service"))
    assert breaker.failures(7) == 0
    breaker.record(7, RetryableProviderError("down"))
    assert not breaker.is_open(7)


def test_after_the_cool_down_one_trial_decides(breaker):
    for _ in range(3):
        breaker.record(7, RetryableProviderError("down"))
    get_redis().delete("test-breaker:7:open")  # the cool-down has passed
    assert not breaker.is_open(7)
    assert breaker.record(7, RetryableProviderError("still down")) is True  # re-opens at once
    get_redis().delete("test-breaker:7:open")
    breaker.record(7, None)  # the trial succeeds: closed, count reset
    assert not breaker.is_open(7) and breaker.failures(7) == 0


def test_health_says_which_providers_have_failures_to_reset_and_a_success_without_any_sends_nothing(breaker):
    breaker.record(7, RetryableProviderError("down"))
    for _ in range(3):
        breaker.record(8, RetryableProviderError("down"))
    health = breaker.health([7, 8, 9])
    assert health.open == {8} and health.counting == {7, 8}
    commands = get_redis().info("commandstats")
    breaker.record(9, None, counting=False)  # nothing counted when read: no round trip
    assert get_redis().info("commandstats").get("cmdstat_del") == commands.get("cmdstat_del")
    breaker.record(7, None, counting=True)
    assert breaker.failures(7) == 0 and breaker.health([7]).counting == set()


def test_a_purchase_from_a_provider_with_failures_counted_resets_them(app, client, make_user):
    from smsbulk.models import Provider

    with db.connection_context():
        simulator = Provider.get(Provider.kind == "simulator").id
    production = Breaker(get_redis(), threshold=5, cooldown=30)  # the key names routing's breaker uses
    production.record(simulator, RetryableProviderError("down"))
    assert production.failures(simulator) == 1
    account = make_user()
    answer = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert answer.json["status"] == "WAITING"
    assert production.failures(simulator) == 0


def test_the_open_state_expires_by_itself(app):
    breaker = Breaker(get_redis(), threshold=1, cooldown=1, prefix="test-breaker")
    breaker.record(9, RetryableProviderError("down"))
    assert breaker.is_open(9)
    time.sleep(1.1)
    assert not breaker.is_open(9)


def _insert_open(provider_id: int, user_id: int, refs: list[str], status: str = "WAITING", **extra) -> list[int]:
    """Activations straight into the table (the purchase path is not under test here)."""
    now = utcnow()
    rows = [
        {
            "public_id": new_public_id(),
            "user": user_id,
            "service": "wa",
            "country": TURKEY,
            "status": status,
            "user_cost": "0.25",
            "provider": provider_id,
            "provider_ref": ref,
            "provider_cost": "0.20",
            "phone_number": f"90532{ref}",
            "expires_at": now + datetime.timedelta(hours=1),
            **extra,
        }
        for ref in refs
    ]
    with db.connection_context(), db.atomic():
        for start in range(0, len(rows), 500):
            Activation.insert_many(rows[start : start + 500]).execute()
        return [a.id for a in Activation.select(Activation.id).where(Activation.provider_ref.in_(refs[:5]))]


def test_a_poll_cycle_over_10000_open_activations_makes_one_call_per_provider(app, make_user):
    fake = FakeUpstream()
    refs = [str(8_000_000 + n) for n in range(10_000)]
    for ref in refs:
        fake.open(ref)
    for ref in refs[:150]:
        fake.deliver(ref, ref[-6:])
    with StubServer(fake.handle) as upstream:
        provider = connect_provider("big", upstream.url)
        _insert_open(provider.id, make_user().user.id, refs)
        before = len(upstream.seen)
        with db.connection_context():
            first = lifecycle.poll_once()
            second = lifecycle.poll_once()
        calls = upstream.seen[before:]
    assert [s.query["action"] for s in calls] == ["getActiveActivations"] * 2  # one per cycle
    assert first["messages"] == 150 and second["messages"] == 0
    with db.connection_context():
        assert Sms.select().count() == 150
        assert Activation.select().where(Activation.status == "RECEIVED").count() == 150


def test_a_refunded_activation_is_not_polled_again_and_its_late_code_is_never_recorded(app, make_user):
    fake = FakeUpstream()
    fake.open("8100001")
    fake.deliver("8100001", "555111")
    with StubServer(fake.handle) as upstream:
        provider = connect_provider("late", upstream.url)
        account = make_user()
        (activation_id,) = _insert_open(provider.id, account.user.id, ["8100001"], status="CANCELED")
        with db.connection_context():
            before = len(upstream.seen)
            polled = lifecycle.poll_once()
            row = Activation.get_by_id(activation_id)
            charges = LedgerEntry.select().where(LedgerEntry.activation == activation_id).count()
            stored = Sms.select().where(Sms.activation == activation_id).count()
    assert polled["messages"] == 0 and len(upstream.seen) == before
    assert row.status == "CANCELED" and row.sms_code is None and charges == 0 and stored == 0


def test_a_provider_with_an_open_circuit_is_not_polled_until_it_closes(app, make_user):
    app.config["PROVIDER_BREAKER_THRESHOLD"] = 1
    fake = FakeUpstream()
    fake.open("8200001")
    with StubServer(fake.handle) as upstream:
        provider = connect_provider("flaky", upstream.url)
        _insert_open(provider.id, make_user().user.id, ["8200001"])
        with db.connection_context():
            from smsbulk.services import health

            health.breaker().record(provider.id, RetryableProviderError("down"))
            before = len(upstream.seen)
            assert lifecycle.poll_once()["skipped"] == 1
            assert len(upstream.seen) == before
            health.breaker().record(provider.id, None)
            assert lifecycle.poll_once()["providers"] == 1


def test_the_catalogue_leaves_out_prices_of_a_provider_whose_circuit_is_open(client, make_user):
    from smsbulk.extensions import db
    from smsbulk.models import Provider
    from smsbulk.services import health

    account = make_user()
    url = "/api/v1/catalog/prices?serviceCode=wa&countryIso=TR"
    assert len(client.get(url, headers=account.headers).json) == 1
    with db.connection_context():
        simulator = Provider.get(Provider.name == "simulator")
        for _ in range(health.breaker().threshold):
            health.breaker().record_failure(simulator.id)
    assert client.get(url, headers=account.headers).json == []


def test_circuits_are_read_once_per_cache_time_and_at_once_after_a_change_here(app):
    from smsbulk.models import Provider
    from smsbulk.services import health

    app.config["PROVIDER_HEALTH_CACHE_SECONDS"] = 0.3
    redis = get_redis()
    with db.connection_context():
        simulator = Provider.get(Provider.kind == "simulator")

    def mgets() -> int:
        return redis.info("commandstats").get("cmdstat_mget", {"calls": 0})["calls"]

    before = mgets()
    assert health.health([simulator.id]).open == set()
    assert health.health([simulator.id]).open == set()  # within the cache time: no round trip
    assert mgets() == before + 1
    redis.set(f"breaker:{simulator.id}:open", 1, ex=60)  # another process opens the circuit
    assert health.health([simulator.id]).open == set()  # not seen yet
    time.sleep(0.35)
    assert health.health([simulator.id]).open == {simulator.id}  # seen after the cache time
    redis.delete(f"breaker:{simulator.id}:open")
    time.sleep(0.35)
    assert health.health([simulator.id]).counting == set()
    health.report(simulator, RetryableProviderError("down"))  # a failure counted here ...
    assert health.health([simulator.id]).counting == {simulator.id}  # ... is seen at once
    health.report(simulator, None, counting=True)
    assert health.health([simulator.id]).counting == set()


def test_offers_are_read_once_per_cache_time_and_each_caller_gets_its_own_copies(app, monkeypatch):
    from decimal import Decimal

    from smsbulk.models import Price
    from smsbulk.services import routing

    app.config["OFFERS_CACHE_SECONDS"] = 0.3
    reads = []
    real_read = routing.compiled_rows
    monkeypatch.setattr(routing, "compiled_rows", lambda *args: reads.append(args[0]) or real_read(*args))
    with db.connection_context():
        offer = Price.select().where((Price.service == "wa") & (Price.country == 0) & (Price.stock > 0)).first()
        original = offer.user_price
        first = routing.candidates("wa", 0, "any")
        first[0].failures_counted = "marked by its caller"
        again = routing.candidates("wa", 0, "any")  # within the cache time: not read again
        assert reads == ["offers"]
        assert again[0].failures_counted is False and again[0] is not first[0]
        Price.update(user_price=original + Decimal("1.00")).where(Price.id == offer.id).execute()
        assert {o.user_price for o in routing.candidates("wa", 0, "any") if o.id == offer.id} == {original}
        time.sleep(0.35)
        changed = {o.user_price for o in routing.candidates("wa", 0, "any") if o.id == offer.id}
        assert changed == {original + Decimal("1.00")} and reads == ["offers", "offers"]
