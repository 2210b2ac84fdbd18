"""Rental prices: synced from the providers with markup, priced for any length, shown in the catalogue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from smsbulk.errors import InvalidRentHours, MaxHoursExceeded, NoNumbers, PriceTooHigh
from smsbulk.extensions import db
from smsbulk.models import RentPrice
from smsbulk.providers.base import RentQuote
from smsbulk.providers.simulator import RENT_COUNTRIES, RENT_SERVICES, rent_cost
from smsbulk.services import catalog, providers, rent_pricing

UK = 16
D = Decimal


@pytest.mark.parametrize(
    ("hours", "price"),
    [
        (1, D("4")),  # shorter than the shortest tier: that tier's price
        (4, D("4")),
        (10, D("10")),  # the 4-hour tier's price per hour
        (23, D("20")),  # ... but never more than the next tier's price
        (24, D("20")),
        (48, D("40")),  # beyond the longest tier: its price per hour
    ],
)
def test_a_length_between_tiers_costs_the_lower_tiers_rate_capped_by_the_next_tier(hours, price):
    assert rent_pricing.price_for({4: D("4"), 24: D("20")}, hours) == price


def test_the_sync_stores_every_tier_of_the_simulator_with_markup_rounded_once(conn):
    rows = RentPrice.select().where((RentPrice.service == "wa") & (RentPrice.country == UK))
    by_hours = {row.hours: row for row in rows}
    assert sorted(by_hours) == [4, 24, 168, 720]
    assert by_hours[24].cost == rent_cost("wa", UK, 24)
    assert by_hours[24].user_price == catalog.user_price(rent_cost("wa", UK, 24), D("1.25"))
    assert RentPrice.select().count() == len(RENT_COUNTRIES) * len(RENT_SERVICES) * 4


def test_offers_for_any_length_come_from_the_tiers_cheapest_first_at_equal_priority(app, conn):
    other = providers.add("cheap", "simulator", priority=100, markup="1.10")
    quotes = [RentQuote("wa", UK, "any", 4, D("0.40"), 5), RentQuote("wa", UK, "any", 24, D("2.00"), 5)]
    rent_pricing.store_rent_quotes(other, quotes, D("1.10"))
    found = rent_pricing.offers("wa", UK, "any", 10)
    assert [o.provider.name for o in found] == ["cheap", "simulator"]
    assert (found[0].cost, found[0].user_price) == (D("1.0000"), D("1.10"))  # 10 h at the 4-hour rate
    assert rent_pricing.quote("wa", catalog.resolve_country("GB"), "any", 10, None) == D("1.10")
    with pytest.raises(PriceTooHigh):
        rent_pricing.quote("wa", catalog.resolve_country("GB"), "any", 10, D("1.09"))
    assert [o.provider.name for o in rent_pricing.offers("wa", UK, "any", 10, max_cost=D("1.00"))] == ["cheap"]
    assert rent_pricing.offers("wa", UK, "any", 10, max_cost=D("0.99")) == []  # never budgets at a loss


def test_a_provider_of_fixed_lengths_offers_only_those(app, conn):
    fixed = providers.add("hosting", "simulator", priority=1)
    rent_pricing.store_rent_quotes(fixed, [RentQuote("full", UK, "any", 3, D("0.10"), 2, any_hours=False)], D("1"))
    assert rent_pricing.offers("full", UK, "any", 3)[0].provider.name == "hosting"
    assert [o.provider.name for o in rent_pricing.offers("full", UK, "any", 4)] == ["simulator"]


def test_nothing_to_rent_where_no_provider_rents(conn):
    with pytest.raises(NoNumbers):
        rent_pricing.quote("wa", catalog.resolve_country("TR"), "any", 4, None)


@pytest.mark.parametrize(
    ("hours", "held", "error"), [(0, 0, InvalidRentHours), (1345, 0, MaxHoursExceeded), (5, 1340, MaxHoursExceeded)]
)
def test_a_length_outside_the_bounds_is_refused(app, hours, held, error):
    with pytest.raises(error):
        rent_pricing.check_hours(hours, held)


def test_a_failed_rental_sync_keeps_the_previous_prices_and_one_that_rents_nothing_clears_them(app, conn, monkeypatch):
    from smsbulk.providers.base import RetryableProviderError, UnsupportedError
    from smsbulk.providers.simulator import SimulatorProvider

    simulator = providers.get("simulator")
    before = RentPrice.select().count()

    def failing(self, hours):
        raise RetryableProviderError("down")

    monkeypatch.setattr(SimulatorProvider, "rent_prices", failing)
    assert providers.sync_rent_prices(simulator) == -1 and RentPrice.select().count() == before

    def unsupported(self, hours):
        raise UnsupportedError("no rentals here")

    monkeypatch.setattr(SimulatorProvider, "rent_prices", unsupported)
    assert providers.sync_rent_prices(simulator) == 0 and RentPrice.select().count() == 0


def test_the_rest_catalogue_shows_each_quoted_length_or_prices_the_one_asked(client, make_user):
    headers = make_user().headers
    tiers = client.get("/api/v1/catalog/rent-prices?serviceCode=wa&countryIso=GB", headers=headers).json
    assert [(row["hours"], row["stock"]) for row in tiers] == [(4, 100), (24, 100), (168, 100), (720, 100)]
    four = D(tiers[0]["price"])
    ten = client.get("/api/v1/catalog/rent-prices?serviceCode=wa&countryId=16&hours=10", headers=headers).json
    assert ten == [
        {
            "serviceCode": "wa",
            "countryId": 16,
            "countryIso": "GB",
            "operator": "any",
            "hours": 10,
            "price": f"{four * 10 / 4:.2f}",
            "stock": 100,
        }
    ]
    assert client.get("/api/v1/catalog/rent-prices?serviceCode=zzzz", headers=headers).status_code == 404
    assert client.get("/api/v1/catalog/rent-prices?hours=0", headers=headers).status_code == 422
    with db.connection_context():
        every = len(rent_pricing.catalogue(None, None, 24))
    assert every == len(RENT_COUNTRIES) * len(RENT_SERVICES)
