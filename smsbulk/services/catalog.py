"""Countries, services and prices; the resolvers both API styles use for their arguments."""

from __future__ import annotations

import csv
import re
import threading
import time
from decimal import Decimal
from importlib import resources

from peewee import fn

from ..errors import UnknownCountry, UnknownService
from ..extensions import db
from ..models import Country, Price, PriceOverride, Provider, Service
from ..money import ROUNDING, quantize_cents, to_money
from . import health

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


class Reference:
    """The country and service tables, held in memory: they are seeded from the reference CSVs at
    migration and never change at run time, yet every purchase resolves one of each.

    A name not found reloads the tables, at most once per RELOAD_SECONDS, so a table seeded after
    the first read is picked up and a flood of unknown names costs no more than that."""

    RELOAD_SECONDS = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.loaded_at = None
            self.countries: dict[int, Country] = {}
            self.by_iso: dict[str, Country] = {}
            self.by_slug: dict[str, Country] = {}
            self.services: dict[str, Service] = {}

    def _load(self) -> None:
        countries = list(Country.select().order_by(Country.id))
        services = list(Service.select())
        by_iso: dict[str, Country] = {}
        for country in countries:  # lowest id first, unless the ISO code names a preferred id
            by_iso.setdefault(country.iso2.upper(), country)
        by_id = {country.id: country for country in countries}
        by_iso.update({iso: by_id[i] for iso, i in PREFERRED_ID_FOR_ISO.items() if i in by_id})
        with self._lock:
            self.countries = by_id
            self.by_iso = by_iso
            self.by_slug = {country.slug: country for country in countries}
            self.services = {service.code: service for service in services}
            # Last: table() reads without the lock, and a thread that saw loaded_at set before
            # the tables were could answer "unknown service" for a real one.
            self.loaded_at = time.monotonic()

    def table(self, name: str) -> dict:
        """One of the tables above, by its attribute name, loaded on first use."""
        if self.loaded_at is None:
            self._load()
        return getattr(self, name)

    def find(self, table: str, key):
        """The row under `key` in one of the tables above, or None."""
        found = self.table(table).get(key)
        if found is None and time.monotonic() - self.loaded_at > self.RELOAD_SECONDS:
            self._load()
            found = getattr(self, table).get(key)
        return found


reference = Reference()  # cleared by routing.reset_caches() in tests


def resolve_country(value: object) -> Country:
    """A country from its numeric id, ISO alpha-2 code, slug or name."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 80:
        raise UnknownCountry(country=text[:80])
    if text.isascii() and text.isdigit():
        country = reference.find("countries", int(text)) if len(text) < 6 else None
    elif len(text) == 2:
        country = reference.find("by_iso", text.upper())
    else:
        country = reference.find("by_slug", slugify(text))
    if country is None:
        raise UnknownCountry(country=text)
    return country


def resolve_service(value: object) -> Service:
    code = str(value).strip().lower() if value is not None else ""
    service = reference.find("services", code) if 0 < len(code) <= 16 else None
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
    failing = open_circuit_provider_ids()
    if failing:  # shown prices match what a purchase would quote right now
        query = query.where(Provider.id.not_in(failing))
    return query


def open_circuit_provider_ids() -> set[int]:
    enabled = [p for (p,) in Provider.select(Provider.id).where(Provider.enabled).tuples()]
    return health.open_ids(enabled)


def prices_for(service_code: str | None, country: object | None):
    """Prices filtered by an optional service code and country (id, ISO code or slug)."""
    return best_prices(
        resolve_service(service_code) if service_code else None,
        resolve_country(country) if country is not None else None,
    ).dicts()  # rows as dicts: the joined country must not replace the plain id


def iso_of(country_id: int) -> str:
    """A country's ISO code without a query per row."""
    country = reference.find("countries", country_id)
    return country.iso2 if country is not None else ""


def cost_units(cost: Decimal) -> Decimal:
    """A provider cost as stored (4 places): upstreams may quote finer, rounded once here."""
    return to_money(cost).quantize(COST_PLACES, rounding=ROUNDING)


def user_price(cost: Decimal, markup: Decimal) -> Decimal:
    """The one place provider cost becomes a user price, rounded once to cents (never below 0.01)."""
    return max(quantize_cents(to_money(cost) * to_money(markup)), Decimal("0.01"))


def offer_price(cost: Decimal, markup: Decimal, override: Decimal | None) -> Decimal:
    """The user price of one offer: the route's override (models/admin.py) where it covers what
    the offer costs us, else cost x markup. An override never sells at a loss."""
    if override is not None and override >= cost_units(cost):
        return override
    return user_price(cost, markup)


def overrides() -> dict[tuple[str, int], Decimal]:
    """The operators' price overrides, per (service code, country id)."""
    rows = PriceOverride.select(PriceOverride.service, PriceOverride.country, PriceOverride.price).tuples()
    return {(service, country): price for service, country, price in rows}


@db.atomic()
def store_quotes(provider: Provider, quotes, markup: Decimal) -> int:
    """Replace a provider's prices and stock with what it just quoted.

    Rows for countries or services we do not know are dropped; a (service, country, operator)
    quoted twice keeps its last quote, so the unique index never fails a sync. A route with an
    operator's override gets it as its user price (offer_price)."""
    known = {c.id for c in Country.select(Country.id)}
    codes = {s.code for s in Service.select(Service.code)}
    fixed = overrides()
    rows = {
        (q.service, q.country_id, q.operator): {
            "provider": provider.id,
            "service": q.service,
            "country": q.country_id,
            "operator": q.operator,
            "cost": cost_units(q.cost),
            "user_price": offer_price(q.cost, markup, fixed.get((q.service, q.country_id))),
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
