"""Prices as the operator sees them: the effective user price and stock per route (a service in a
country), and a per-route override of the user price.

An override is written where user prices live: onto the route's price rows now, and by every
later sync (catalog.store_quotes). So the catalogue, both API styles, the purchase quote and the
purchase job's never-at-a-loss rule (fulfilment: an offer must cost us at most what the user
paid) all see the same number. An offer that costs us more than the override keeps its markup
price; an override below what the cheapest offer of the route costs us now is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from peewee import fn

from .. import money
from ..errors import BadRequest, NotFound
from ..models import Country, Price, PriceOverride, Provider, Service
from ..models import events as ev
from ..models.base import utcnow
from . import audit, catalog, events, pages, providers


@dataclass(frozen=True)
class Route:
    service: str
    service_name: str
    country_id: int
    country_iso: str
    country_name: str
    price: Decimal  # what a buyer pays now: the lowest user price among healthy offers in stock
    stock: int
    cheapest_cost: Decimal
    offers: int
    override: Decimal | None


@dataclass(frozen=True)
class Prices:
    routes: pages.Page
    overrides: list[PriceOverride]


def prices(service: str = "", country: str = "", page: int = 1) -> Prices:
    """The operator's prices page: the routes (filtered, a page of them) and every override."""
    return Prices(routes(service, country, page), overridden())


def routes(service: str = "", country: str = "", page: int = 1) -> pages.Page:
    """Routes with numbers in stock at enabled providers whose circuit is closed (what a purchase
    would be quoted), filtered by service code and country; every override is marked on its row."""
    query = (
        Price.select(
            Price.service,
            Service.name.alias("service_name"),
            Price.country,
            Country.iso2,
            Country.name.alias("country_name"),
            fn.MIN(Price.user_price).alias("price"),
            fn.SUM(Price.stock).alias("stock"),
            fn.MIN(Price.cost).alias("cheapest_cost"),
            fn.COUNT(Price.id).alias("offers"),
        )
        .join(Provider)
        .switch(Price)
        .join(Service)
        .switch(Price)
        .join(Country)
        .where(Provider.enabled & (Price.stock > 0))
        .group_by(Price.service, Service.name, Price.country, Country.iso2, Country.name)
        .order_by(Price.service, Price.country)
    )
    if service:
        query = query.where(Price.service == catalog.resolve_service(service).code)
    if country:
        query = query.where(Price.country == catalog.resolve_country(country).id)
    failing = catalog.open_circuit_provider_ids()
    if failing:
        query = query.where(Provider.id.not_in(failing))
    found = pages.paginate(query.dicts(), page)
    fixed = catalog.overrides()
    rows = [_route(row, fixed.get((row["service"], row["country"]))) for row in found.rows]
    return pages.Page(rows, found.number, found.total, found.per_page)


def _route(row: dict, override: Decimal | None) -> Route:
    # MIN() of a money column comes back as that column reads it (peewee converts through the field).
    return Route(
        row["service"],
        row["service_name"],
        row["country"],
        row["iso2"],
        row["country_name"],
        row["price"],
        int(row["stock"]),
        row["cheapest_cost"],
        int(row["offers"]),
        override,
    )


def overridden() -> list[PriceOverride]:
    """Every override, by service then country."""
    return list(
        PriceOverride.select(PriceOverride, Country)
        .join(Country)
        .order_by(PriceOverride.service, PriceOverride.country)
    )


def _price(text: object) -> Decimal:
    try:
        price = money.parse_amount(str(text or ""))
    except money.AmountError as exc:
        raise BadRequest(f"price: {exc}", field="price") from exc
    if price < money.CENT:
        raise BadRequest("price: at least 0.01", field="price")
    return price


def set_override(operator: audit.Operator, service: object, country: object, price: object) -> PriceOverride:
    """Fix the user price of a route; its price rows change now, and stay so through every sync."""
    found_service, found_country = catalog.resolve_service(service), catalog.resolve_country(country)
    amount = _price(price)
    route = (PriceOverride.service == found_service.code) & (PriceOverride.country == found_country.id)
    with events.recording(operator.user_id):
        cheapest = (
            Price.select(fn.MIN(Price.cost))
            .where((Price.service == found_service.code) & (Price.country == found_country.id))
            .scalar()
        )  # a Decimal: MIN() of a money column is read through the column
        if cheapest is not None and amount < cheapest:
            raise BadRequest(
                f"price: below what the cheapest offer of this route costs us ({cheapest:f}); nothing would sell",
                field="price",
            )
        PriceOverride.insert(
            service=found_service.code, country=found_country.id, price=amount, set_by=operator.user_id
        ).on_conflict(
            conflict_target=[PriceOverride.service, PriceOverride.country],
            update={
                PriceOverride.price: amount,
                PriceOverride.set_by: operator.user_id,
                PriceOverride.updated_at: utcnow(),
            },
        ).execute()
        _repriced(operator, ev.ADMIN_PRICE_OVERRIDE_SET, found_service, found_country, amount)
    return PriceOverride.get(route)


def remove_override(operator: audit.Operator, service: object, country: object) -> int:
    """Back to cost x markup for the route; how many offers were repriced."""
    found_service, found_country = catalog.resolve_service(service), catalog.resolve_country(country)
    route = (PriceOverride.service == found_service.code) & (PriceOverride.country == found_country.id)
    with events.recording(operator.user_id):
        if not PriceOverride.delete().where(route).execute():
            raise NotFound("This route has no override", service=found_service.code, country=found_country.id)
        return _repriced(operator, ev.ADMIN_PRICE_OVERRIDE_REMOVED, found_service, found_country, None)


def _repriced(
    operator: audit.Operator, event_type: str, service: Service, country: Country, override: Decimal | None
) -> int:
    """Reprice the route's offers for its new override (None: no override) and audit the change;
    how many offers the route has."""
    repriced = _reprice(service.code, country.id, override)
    price = {"price": override} if override is not None else {}
    target = f"route {service.code}/{country.iso2}"
    audit.record(operator, event_type, target, service=service.code, country=country.id, **price, offers=repriced)
    return repriced


def _reprice(service: str, country_id: int, override: Decimal | None) -> int:
    """Set the user price of the route's offers as a sync would (catalog.offer_price)."""
    offers = list(
        Price.select(Price, Provider).join(Provider).where((Price.service == service) & (Price.country == country_id))
    )
    for offer in offers:
        price = catalog.offer_price(offer.cost, providers.markup_of(offer.provider), override)
        if price != offer.user_price:
            Price.update(user_price=price).where(Price.id == offer.id).execute()
    return len(offers)
