"""The simulator rents numbers that keep receiving SMS, and buys a completed number again."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import redis as redis_lib

from smsbulk.providers import simulator as module
from smsbulk.providers.base import (
    ACTIVE,
    CANCELED,
    FINISHED,
    RECEIVED,
    REVOKED,
    WAITING,
    NoNumbersError,
    PermanentProviderError,
    PriceTooHighError,
)
from smsbulk.providers.simulator import RENT_COUNTRIES, SimulatorProvider, rent_cost

UK, TURKEY = 16, 62  # the UK rents; Turkey does not (reference, Appendix A)


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(module, "time", clock)
    return clock


@pytest.fixture
def sim(app, clock) -> SimulatorProvider:
    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    return SimulatorProvider(client, {UK: "GB", TURKEY: "TR", 0: "RU"}, sms_delay=5, rent_sms_every=60, name="rent-sim")


def test_rent_prices_cover_the_renting_countries_and_each_asked_length(sim):
    quotes = sim.rent_prices([4, 24])
    assert {q.country_id for q in quotes} == {UK, 0} and {q.hours for q in quotes} == {4, 24}
    assert {q.service for q in quotes} >= {"full", "wa", "tg"} and all(q.any_hours for q in quotes)
    four, day = (next(q for q in quotes if (q.service, q.country_id, q.hours) == ("wa", UK, h)) for h in (4, 24))
    assert four.cost == rent_cost("wa", UK, 4) < day.cost < 6 * four.cost  # longer is cheaper per hour
    assert TURKEY not in RENT_COUNTRIES


def test_a_rented_number_gets_its_first_sms_after_the_delay_then_one_a_minute_until_it_ends(sim, clock):
    rented = sim.rent("wa", UK, "any", 2, None, "r1")
    assert rented.phone.startswith("44") and rented.cost == rent_cost("wa", UK, 2)
    assert rented.ends_at == datetime.datetime(2025, 6, 15, 15, 6, 40) + datetime.timedelta(hours=2)
    assert sim.rent_statuses([rented.ref])[rented.ref].messages == []
    clock.advance(5)
    first = sim.rent_statuses([rented.ref])[rented.ref]
    assert first.state == ACTIVE and len(first.messages) == 1
    message = first.messages[0]
    assert message.code in message.text and (message.sender, message.service) == ("WA", "wa")
    clock.advance(180)
    assert len(sim.rent_statuses([rented.ref])[rented.ref].messages) == 4
    clock.advance(2 * 3600)
    over = sim.rent_statuses([rented.ref])[rented.ref]
    assert over.state == FINISHED and len(over.messages) == 120  # one a minute for two hours
    assert [m.id for m in over.messages[:4]] == [m.id for m in sim.rent_statuses([rented.ref])[rented.ref].messages[:4]]


def test_a_full_rental_receives_the_sms_of_every_service(sim, clock):
    rented = sim.rent("full", 0, "any", 4, None, "r2")
    clock.advance(5 + 60 * 11)
    services = [m.service for m in sim.rent_statuses([rented.ref])[rented.ref].messages]
    assert len(set(services)) == 12


def test_extending_moves_the_end_and_costs_the_extra_hours(sim, clock):
    rented = sim.rent("tg", UK, "any", 4, None, "r3")
    assert sim.extension_cost(rented.ref, 24) == rent_cost("tg", UK, 24)
    with pytest.raises(PriceTooHighError):
        sim.extend_rent(rented.ref, 24, Decimal("0.01"))
    longer = sim.extend_rent(rented.ref, 24, None)
    assert longer.ref == rented.ref and longer.ends_at == rented.ends_at + datetime.timedelta(hours=24)
    clock.advance(5 * 3600)
    assert sim.rent_statuses([rented.ref])[rented.ref].state == ACTIVE


@pytest.mark.parametrize(("stop", "state"), [("finish_rent", FINISHED), ("cancel_rent", CANCELED), ("revoke", REVOKED)])
def test_a_stopped_rental_keeps_its_sms_and_gets_no_more(sim, clock, stop, state):
    rented = sim.rent("wa", UK, "any", 4, None, "r4")
    clock.advance(65)
    getattr(sim, stop)(rented.ref)
    clock.advance(600)
    status = sim.rent_statuses([rented.ref])[rented.ref]
    assert status.state == state and len(status.messages) == 2
    with pytest.raises(PermanentProviderError):
        sim.extend_rent(rented.ref, 4, None)


def test_nothing_is_rented_where_the_simulator_does_not_rent(sim):
    with pytest.raises(NoNumbersError):
        sim.rent("wa", TURKEY, "any", 4, None, "r5")
    with pytest.raises(NoNumbersError):
        sim.rent("aoo", UK, "any", 4, None, "r6")


def test_a_completed_number_is_bought_again_for_the_same_service_and_gets_a_new_code(sim, clock):
    bought = sim.buy("wa", TURKEY, "any", None, "a1")
    with pytest.raises(NoNumbersError):  # not completed yet
        sim.reactivation_cost(bought.ref, "wa", TURKEY, bought.phone)
    clock.advance(5)
    first = sim.statuses([bought.ref])[bought.ref]
    assert first.state == RECEIVED
    sim.finish(bought.ref)
    assert sim.reactivation_cost(bought.ref, "wa", TURKEY, bought.phone) == bought.cost
    again = sim.reactivate(bought.ref, "wa", TURKEY, bought.phone, None, "a2")
    assert again.phone == bought.phone and again.ref != bought.ref and again.cost == bought.cost
    assert sim.statuses([again.ref])[again.ref].state == WAITING
    clock.advance(5)
    second = sim.statuses([again.ref])[again.ref]
    assert second.state == RECEIVED and second.messages[0].code != first.messages[0].code


def test_a_cancelled_or_foreign_number_cannot_be_bought_again(sim):
    bought = sim.buy("wa", TURKEY, "any", None, "a3")
    sim.cancel(bought.ref)
    with pytest.raises(NoNumbersError):
        sim.reactivate(bought.ref, "wa", TURKEY, bought.phone, None, "a4")
    sim.finish(bought.ref)
    with pytest.raises(NoNumbersError):  # the phone must be the one the ref holds
        sim.reactivation_cost(bought.ref, "wa", TURKEY, "900000000")
