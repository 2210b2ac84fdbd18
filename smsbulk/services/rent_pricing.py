"""Rental prices: stored per provider and length, priced for any length, shown in the catalogue.

A provider that rents any whole number of hours is quoted for the lengths of RENT_PRICE_HOURS,
its tiers. Another length costs the price per hour of the tier at or below it, but never more
than the next tier's price; beyond the longest tier, that tier's price per hour; below the
shortest tier, the shortest tier's price (a minimum charge). Longer rentals cost less per hour
at every upstream we know, so the rule never budgets less than the upstream asks. Our cost and
the user price follow the same rule, the user price from the tiers' user prices (cost x markup,
rounded once at sync) and rounded to cents once more. A provider that rents fixed lengths only
(5sim's hosting) offers exactly the lengths it quotes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from flask import current_app

from ..errors import InvalidRentHours, MaxHoursExceeded, NoNumbers, OutOfStock, PriceTooHigh
from ..extensions import db
from ..models import Country, Provider, RentPrice, Service
from ..money import quantize_cents
from ..providers.base import RentQuote
from . import catalog, health


@dataclass(frozen=True)
class RentOffer:
    provider: Provider
    service: str
    country_id: int
    operator: str
    hours: int
    cost: Decimal  # what the provider should charge us for these hours
    user_price: Decimal
    stock: int


def price_for(tiers: dict[int, Decimal], hours: int) -> Decimal:
    """The price of `hours` from the prices of the tier lengths (see the module docstring)."""
    lengths = sorted(tiers)
    if hours <= lengths[0]:
        return tiers[lengths[0]]
    below = max(length for length in lengths if length <= hours)
    above = [length for length in lengths if length >= hours]
    per_hour = tiers[below] * hours / below
    return min(per_hour, tiers[above[0]]) if above else per_hour


@dataclass(frozen=True)
class RentCatalogue:
    """A country's rentals as the legacy protocol lists them (getRentServicesAndCountries)."""

    countries: list[int]  # every country with numbers to rent
    operators: list[str]  # this country's operators
    services: dict[str, tuple[Decimal, int]]  # service code -> (price of the length, stock)


def check_hours(hours: int, held: int = 0) -> int:
    """A rental length within RENT_MIN_HOURS and what RENT_MAX_HOURS leaves after `held` hours."""
    config = current_app.config
    if hours < config["RENT_MIN_HOURS"]:
        raise InvalidRentHours(hours=hours, minHours=config["RENT_MIN_HOURS"])
    if held + hours > config["RENT_MAX_HOURS"]:
        raise MaxHoursExceeded(hours=hours, maxHours=max(0, config["RENT_MAX_HOURS"] - held))
    return hours


def tier_hours() -> list[int]:
    """The lengths every flexible provider is quoted for (RENT_PRICE_HOURS)."""
    return sorted({int(h) for h in str(current_app.config["RENT_PRICE_HOURS"]).split(",") if h.strip()})


@db.atomic()
def store_rent_quotes(provider: Provider, quotes: Iterable[RentQuote], markup: Decimal) -> int:
    """Replace a provider's rental prices with what it just quoted (as catalog.store_quotes)."""
    known = {c.id for c in Country.select(Country.id)}
    codes = {s.code for s in Service.select(Service.code)}
    rows = {
        (q.service, q.country_id, q.operator, q.hours): {
            "provider": provider.id,
            "service": q.service,
            "country": q.country_id,
            "operator": q.operator,
            "hours": q.hours,
            "cost": catalog.cost_units(q.cost),
            "user_price": catalog.user_price(q.cost, markup),
            "stock": max(0, q.stock),
            "any_hours": q.any_hours,
        }
        for q in quotes
        if q.country_id in known and q.service in codes and q.cost >= 0 and q.hours > 0
    }
    values = list(rows.values())
    RentPrice.delete().where(RentPrice.provider == provider).execute()
    for batch in range(0, len(values), 200):
        RentPrice.insert_many(values[batch : batch + 200]).execute()
    return len(values)


def _rows(service: str | None, country_id: int | None, operator: str | None):
    """In-stock rental prices of enabled providers with a closed circuit, with their provider."""
    query = RentPrice.select(RentPrice, Provider).join(Provider).where(Provider.enabled & (RentPrice.stock > 0))
    if service is not None:
        query = query.where(RentPrice.service == service)
    if country_id is not None:
        query = query.where(RentPrice.country == country_id)
    if operator and operator != "any":
        query = query.where(RentPrice.operator.in_([operator, "any"]))
    rows = list(query.order_by(RentPrice.provider, RentPrice.service, RentPrice.country, RentPrice.operator))
    failing = health.health({row.provider_id for row in rows}).open
    return [row for row in rows if row.provider_id not in failing]


def _offer(rows: list[RentPrice], hours: int) -> RentOffer | None:
    """One provider's offer for (service, country, operator) and `hours`, from its price rows."""
    exact = next((row for row in rows if row.hours == hours), None)
    flexible = [row for row in rows if row.any_hours]
    if flexible:
        cost = price_for({row.hours: row.cost for row in flexible}, hours)
        price = price_for({row.hours: row.user_price for row in flexible}, hours)
        longer = [row for row in flexible if row.hours >= hours]
        stock = (min(longer, key=lambda row: row.hours) if longer else max(flexible, key=lambda r: r.hours)).stock
    elif exact is not None:
        cost, price, stock = exact.cost, exact.user_price, exact.stock
    else:
        return None
    first = rows[0]
    return RentOffer(
        first.provider,
        first.service_id,
        first.country_id,
        first.operator,
        hours,
        catalog.cost_units(cost),
        max(quantize_cents(price), Decimal("0.01")),
        stock,
    )


def offers(
    service: str | None, country_id: int | None, operator: str | None, hours: int, max_cost: Decimal | None = None
) -> list[RentOffer]:
    """Every provider's offer for `hours`, by priority, then price (the routing order)."""
    found = [o for o in _offers(_rows(service, country_id, operator), hours) if max_cost is None or o.cost <= max_cost]
    return sorted(found, key=lambda o: (o.provider.priority, o.user_price, o.cost, o.provider.id))


def _offers(rows: list[RentPrice], hours: int) -> list[RentOffer]:
    """One offer per provider and (service, country, operator) of these rows that can rent `hours`."""
    grouped = (_offer(list(group), hours) for _, group in itertools.groupby(rows, key=_group))
    return [offer for offer in grouped if offer is not None]


def _group(row: RentPrice) -> tuple:
    """What one offer is of: _rows() comes sorted by it."""
    return (row.provider_id, row.service_id, row.country_id, row.operator)


def quote(service: str, country: Country, operator: str, hours: int, max_price: Decimal | None) -> Decimal:
    """The price of a rental: the lowest user price among healthy offers (as activations.quote)."""
    found = offers(service, country.id, operator, hours)
    if not found:
        raise NoNumbers(serviceCode=service, country=country.iso2, hours=hours)
    cheapest = min(offer.user_price for offer in found)
    if max_price is not None and cheapest > max_price:
        raise PriceTooHigh(minPrice=f"{cheapest:f}", maxPrice=f"{max_price:f}")
    return cheapest


def best(service: str | None, country_id: int | None, operator: str | None, hours: int | None) -> list[RentOffer]:
    """The catalogue: the cheapest offer per (service, country, operator) and length, with the
    stock of all its offers; for `hours`, or (None) for every length some provider quotes."""
    rows = _rows(service, country_id, operator)
    lengths = [hours] if hours is not None else sorted({row.hours for row in rows})
    return [offer for length in lengths for offer in _cheapest(_offers(rows, length))]


def _cheapest(found: list[RentOffer]) -> list[RentOffer]:
    cheapest: dict[tuple, RentOffer] = {}
    stock: dict[tuple, int] = {}
    for offer in found:
        key = (offer.country_id, offer.service, offer.operator)
        stock[key] = stock.get(key, 0) + offer.stock
        if key not in cheapest or offer.user_price < cheapest[key].user_price:
            cheapest[key] = offer
    return [replace(offer, stock=stock[key]) for key, offer in sorted(cheapest.items(), key=lambda item: item[0])]


def catalogue(service_code: str | None, country: object | None, hours: int | None) -> list[RentOffer]:
    """best() for a service code and a country given as id, ISO code or slug (REST's arguments)."""
    service = catalog.resolve_service(service_code).code if service_code else None
    country_id = catalog.resolve_country(country).id if country is not None else None
    return best(service, country_id, None, hours)


def renting_countries() -> set[int]:
    """The countries where some enabled provider has numbers to rent."""
    in_stock = RentPrice.select(RentPrice.country).join(Provider).where(Provider.enabled & (RentPrice.stock > 0))
    return {country_id for (country_id,) in in_stock.distinct().tuples()}


def countries_with_rentals() -> tuple[list[Country], set[int]]:
    """Every country, and the ids of those where numbers can be rented (legacy getCountries)."""
    return list(catalog.countries()), renting_countries()


def legacy_catalogue(country: Country, operator: str, hours: int) -> RentCatalogue:
    """What getRentServicesAndCountries shows for a country, an operator and a length."""
    check_hours(hours)
    in_stock = RentPrice.select(RentPrice.operator).join(Provider).where(Provider.enabled & (RentPrice.stock > 0))
    here = in_stock.where(RentPrice.country == country.id).distinct()
    operators = sorted(o for (o,) in here.tuples())
    services: dict[str, tuple[Decimal, int]] = {}
    for offer in _offers(_rows(None, country.id, operator), hours):
        price, stock = services.get(offer.service, (offer.user_price, 0))
        services[offer.service] = (min(price, offer.user_price), stock + offer.stock)
    if not services:
        raise OutOfStock(country=country.iso2)
    return RentCatalogue(sorted(renting_countries()), operators, dict(sorted(services.items())))
