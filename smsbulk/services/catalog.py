"""Countries, services and prices; the resolvers both API styles use for their arguments."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from importlib import resources

from peewee import fn

from ..errors import UnknownCountry, UnknownService
from ..extensions import db
from ..models import Country, Price, Provider, Service
from ..money import ROUNDING, quantize_cents, to_money

# ISO "US" is ambiguous in the canonical table (12 virtual, 187 real): real numbers win.
PREFERRED_ID_FOR_ISO = {"US": 187}
COST_PLACES = Decimal("0.0001")  # Price.cost and Activation.provider_cost are stored to 4 places


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _rows(filename: str) -> list[dict]:
    text = resources.files("smsbulk.data").joinpath(filename).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


@db.atomic()
def seed_catalog() -> None:
    """Load the canonical country and service tables; safe to run again."""
    countries = [
        {"id": int(r["id"]), "iso2": r["iso2"], "name": r["name_en"], "slug": slugify(r["name_en"])}
        for r in _rows("countries.csv")
    ]
    services = [{"code": r["code"], "name": r["name"]} for r in _rows("services.csv")]
    for batch in range(0, len(countries), 100):
        Country.insert_many(countries[batch : batch + 100]).on_conflict_ignore().execute()
    for batch in range(0, len(services), 100):
        Service.insert_many(services[batch : batch + 100]).on_conflict_ignore().execute()


def resolve_country(value: object) -> Country:
    """A country from its numeric id, ISO alpha-2 code, slug or name."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 80:
        raise UnknownCountry(country=text[:80])
    if text.isascii() and text.isdigit():
        country = Country.get_or_none(Country.id == int(text)) if len(text) < 6 else None
    elif len(text) == 2:
        iso = text.upper()
        country = Country.get_or_none(Country.id == PREFERRED_ID_FOR_ISO[iso]) if iso in PREFERRED_ID_FOR_ISO else None
        country = country or Country.select().where(Country.iso2 == iso).order_by(Country.id).first()
    else:
        country = Country.get_or_none(Country.slug == slugify(text))
    if country is None:
        raise UnknownCountry(country=text)
    return country


def resolve_service(value: object) -> Service:
    code = str(value).strip().lower() if value is not None else ""
    service = Service.get_or_none(Service.code == code) if 0 < len(code) <= 16 else None
    if service is None:
        raise UnknownService(service=code[:16])
    return service


def countries():
    return Country.select().order_by(Country.id)


def services():
    return Service.select().order_by(Service.code)


def best_prices(service: Service | None = None, country: Country | None = None):
    """The cheapest in-stock offer per (service, country, operator), with the total stock."""
    query = (
        Price.select(
            Price.service,
            Price.country,
            Country.iso2.alias("country_iso"),
            Price.operator,
            fn.MIN(Price.user_price).alias("price"),
            fn.SUM(Price.stock).alias("stock"),
        )
        .join(Provider)
        .switch(Price)
        .join(Country)
        .where(Provider.enabled & (Price.stock > 0))
        .group_by(Price.service, Price.country, Country.iso2, Price.operator)
        .order_by(Price.country, Price.service, Price.operator)
    )
    if service is not None:
        query = query.where(Price.service == service)
    if country is not None:
        query = query.where(Price.country == country)
    failing = _open_circuit_provider_ids()
    if failing:  # shown prices match what a purchase would quote right now
        query = query.where(Provider.id.not_in(failing))
    return query


def _open_circuit_provider_ids() -> set[int]:
    from .routing import breaker  # routing imports this module: resolve at call time

    enabled = [p for (p,) in Provider.select(Provider.id).where(Provider.enabled).tuples()]
    return breaker().open_ids(enabled)


def prices_for(service_code: str | None, country: object | None):
    """Prices filtered by an optional service code and country (id, ISO code or slug)."""
    return best_prices(
        resolve_service(service_code) if service_code else None,
        resolve_country(country) if country is not None else None,
    ).dicts()  # rows as dicts: the joined country must not replace the plain id


_iso_by_id: dict[int, str] = {}  # cleared by routing.reset_caches() in tests


def iso_of(country_id: int) -> str:
    """A country's ISO code without a query per row: the table never changes at run time."""
    if country_id not in _iso_by_id:
        _iso_by_id.update({c.id: c.iso2 for c in Country.select(Country.id, Country.iso2)})
    return _iso_by_id.get(country_id, "")


def cost_units(cost: Decimal) -> Decimal:
    """A provider cost as stored (4 places): upstreams may quote finer, rounded once here."""
    return to_money(cost).quantize(COST_PLACES, rounding=ROUNDING)


def user_price(cost: Decimal, markup: Decimal) -> Decimal:
    """The one place provider cost becomes a user price, rounded once to cents (never below 0.01)."""
    return max(quantize_cents(to_money(cost) * to_money(markup)), Decimal("0.01"))


@db.atomic()
def store_quotes(provider: Provider, quotes, markup: Decimal) -> int:
    """Replace a provider's prices and stock with what it just quoted.

    Rows for countries or services we do not know are dropped; a (service, country, operator)
    quoted twice keeps its last quote, so the unique index never fails a sync."""
    known = {c.id for c in Country.select(Country.id)}
    codes = {s.code for s in Service.select(Service.code)}
    rows = {
        (q.service, q.country_id, q.operator): {
            "provider": provider.id,
            "service": q.service,
            "country": q.country_id,
            "operator": q.operator,
            "cost": cost_units(q.cost),
            "user_price": user_price(q.cost, markup),
            "stock": max(0, q.stock),
        }
        for q in quotes
        if q.country_id in known and q.service in codes and q.cost >= 0
    }
    values = list(rows.values())
    Price.delete().where(Price.provider == provider).execute()
    for batch in range(0, len(values), 200):
        Price.insert_many(values[batch : batch + 200]).execute()
    return len(values)


def _offered(country: Country | None, operator: str | None):
    """In-stock price rows of enabled providers; an operator also matches "any", as routing does."""
    query = Price.select().join(Provider).where(Provider.enabled & (Price.stock > 0))
    if country is not None:
        query = query.where(Price.country == country)
    if operator and operator != "any":
        query = query.where(Price.operator.in_([operator, "any"]))
    return query


def stock_by_service(country: Country, operator: str | None = None, every_service: bool = False) -> dict[str, int]:
    """Numbers in stock per service code in a country; with every_service, 0 for the rest."""
    rows = (
        _offered(country, operator)
        .select(Price.service, fn.SUM(Price.stock).alias("stock"))
        .group_by(Price.service)
        .order_by(Price.service)
        .tuples()
    )
    stock = {code: int(total) for code, total in rows}
    if not every_service:
        return stock
    return {code: stock.get(code, 0) for (code,) in Service.select(Service.code).order_by(Service.code).tuples()}


def operators_by_country(country: Country | None = None) -> dict[int, list[str]]:
    """The operators with numbers in stock, per country id (a given country is always listed)."""
    rows = (
        _offered(country, None)
        .select(Price.country, Price.operator)
        .distinct()
        .order_by(Price.country, Price.operator)
        .tuples()
    )
    result: dict[int, list[str]] = {country.id: []} if country is not None else {}
    for country_id, operator in rows:
        result.setdefault(country_id, []).append(operator)
    return result


def services_offered(country: Country | None = None):
    """Every service, or only those with numbers in stock in the given country."""
    if country is None:
        return services()
    codes = _offered(country, None).select(Price.service).distinct()
    return Service.select().where(Service.code.in_(codes)).order_by(Service.code)
