"""What the dashboard's owner pages show, each page gathered by one call (smsbulk/dashboard/).

The actions (create a key, cancel an activation, add a webhook) are the services every face
uses (keys, activations, webhooks); what is here is reading, paging and the dashboard's purchase.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal

import peewee
from peewee import Case, fn

from .. import money
from ..auth import Caller
from ..errors import BadRequest
from ..models import Activation, ApiKey, Country, LedgerEntry, Price, Provider, Service, Sms, User, Wallet
from ..models import activations as st
from ..models.base import utcnow
from ..models.ledger import KINDS
from . import activations, catalog, keys, purchases, wallets, webhooks

PAGE_SIZE = 50
CSV_LIMIT = 100_000  # a ledger export's rows at most (one account's lifetime, usually far fewer)


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page(query, number: int, size: int = PAGE_SIZE) -> Page:
    number = max(1, min(number, 100_000))
    rows = list(query.offset((number - 1) * size).limit(size + 1))
    return Page(rows[:size], number, len(rows) > size)


@dataclass
class Overview:
    email: str
    balance: Decimal
    currency: str
    keys: list[ApiKey]  # active ones, each with today's use (key_usage.attach)
    recent: list[Activation]


def overview(user_id: int, recent: int = 10) -> Overview:
    user = User.get_by_id(user_id)
    wallet = wallets.wallet_of(user)
    active = keys.with_usage(keys.listing(keys.Actor(user_id), state="active"))
    _bought_today(user_id, active)
    latest = [row for row, _ in activations.history_for_owner_latest(user_id, recent)]
    return Overview(user.email, wallet.balance, wallet.currency, active, latest)


def _bought_today(user_id: int, found: list[ApiKey]) -> None:
    """Set each key's `bought_today` (purchases since 00:00 UTC) and `spent_today` (what they
    cost, less what was refunded), from the activations themselves: the guardrails' counters
    exist only for keys that have a guardrail, and a refund does not lower them."""
    start = datetime.datetime.combine(utcnow().date(), datetime.time())
    kept = fn.SUM(Case(None, [(Activation.status.in_(st.REFUNDED), 0)], Activation.user_cost))
    rows = (
        Activation.select(Activation.api_key, fn.COUNT(Activation.id), kept)
        .where((Activation.user == user_id) & (Activation.created_at >= start))
        .group_by(Activation.api_key)
        .tuples()
    )
    totals = {
        key_id: (count, Activation.user_cost.python_value(spent) or Decimal("0.00")) for key_id, count, spent in rows
    }
    for key in found:
        key.bought_today, key.spent_today = totals.get(key.id, (0, Decimal("0.00")))


# The ledger


def _kind(kind: str | None) -> str | None:
    if kind and kind not in KINDS:
        raise BadRequest(f"kind is one of {', '.join(KINDS)}")
    return kind or None


def _ledger_query(user_id: int, kind: str | None):
    query = wallets.transactions(User(id=user_id))
    return query.where(LedgerEntry.kind == kind) if kind else query


@dataclass
class Ledger:
    balance: Decimal
    kind: str | None
    kinds: tuple[str, ...]
    page: Page


def ledger(user_id: int, kind: str | None = None, page: int = 1) -> Ledger:
    """The ledger, newest first, PAGE_SIZE entries a page, optionally of one kind."""
    kind = _kind(kind)
    balance = Wallet.get(Wallet.user == user_id).balance
    return Ledger(balance, kind, KINDS, _page(_ledger_query(user_id, kind), page))


def ledger_csv(user_id: int, kind: str | None = None) -> str:
    """The ledger as CSV, newest first: what the page shows, every page at once."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "time_utc", "kind", "amount", "balance_after", "activation", "memo"])
    kind = _kind(kind)
    query = (
        LedgerEntry.select(LedgerEntry, Activation.public_id)
        .join(Wallet)
        .switch(LedgerEntry)
        .join(Activation, peewee.JOIN.LEFT_OUTER)
        .where(Wallet.user == user_id)
        .order_by(LedgerEntry.id.desc())
        .limit(CSV_LIMIT)
    )
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    for entry in query.objects():
        memo = entry.memo
        if memo[:1] in ("=", "+", "-", "@"):  # a spreadsheet would run it as a formula
            memo = "'" + memo
        when = entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        writer.writerow(
            [entry.id, when, entry.kind, f"{entry.amount:f}", f"{entry.balance_after:f}", entry.public_id or "", memo]
        )
    return out.getvalue()


# API keys


def key_list(user_id: int) -> list[ApiKey]:
    """Every key of the account, newest first: active ones with today's use."""
    found = list(keys.listing(keys.Actor(user_id)))
    keys.with_usage([key for key in found if key.state == "active"])
    return found


# Activations


@dataclass
class ActivationFilter:
    status: str | None = None
    service: str | None = None
    country: str | None = None  # ISO code

    @classmethod
    def parse(cls, status: str | None, service: str | None, country: str | None) -> ActivationFilter:
        status = (status or "").upper() or None
        if status and status not in st.STATUSES:
            raise BadRequest(f"status is one of {', '.join(st.STATUSES)}")
        service = (service or "").strip() or None
        if service:
            catalog.resolve_service(service)
        country = (country or "").strip().upper() or None
        if country:
            catalog.resolve_country(country)
        return cls(status, service, country)


@dataclass
class ActivationsPage:
    filter: ActivationFilter
    page: Page
    messages: dict[int, list[Sms]] = field(default_factory=dict)
    statuses: tuple[str, ...] = st.STATUSES


def activation_list(user_id: int, wanted: ActivationFilter, page: int = 1) -> ActivationsPage:
    query = Activation.select(Activation, Country).join(Country).where(Activation.user == user_id)
    if wanted.status:
        query = query.where(Activation.status == wanted.status)
    if wanted.service:
        query = query.where(Activation.service == wanted.service)
    if wanted.country:
        query = query.where(Country.iso2 == wanted.country)
    found = _page(query.order_by(Activation.id.desc()), page)
    return ActivationsPage(wanted, found, _messages([row.id for row in found.items if row.status not in st.REFUNDED]))


def _messages(ids: list[int]) -> dict[int, list[Sms]]:
    messages: dict[int, list[Sms]] = {activation_id: [] for activation_id in ids}
    if ids:
        for sms in Sms.select().where(Sms.activation.in_(ids)).order_by(Sms.received_at, Sms.id):
            messages[sms.activation_id].append(sms)
    return messages


MAX_LIVE = 100


def live(user_id: int, public_ids: list[str]) -> list[dict]:
    """The status, code and messages of the owner's activations named, for the page's script."""
    found = list(
        Activation.select().where((Activation.user == user_id) & Activation.public_id.in_(public_ids[:MAX_LIVE]))
    )
    messages = _messages([row.id for row in found if row.status not in st.REFUNDED])
    return [
        {
            "id": row.public_id,
            "status": row.status,
            "phoneNumber": row.phone_number or "",
            "code": row.sms_code or "",
            "sms": [sms.text for sms in messages.get(row.id, [])],
            "open": row.status in (st.PENDING, *st.OPEN),
        }
        for row in found
    ]


# Buying a number


@dataclass
class Offer:
    service: str
    service_name: str
    country_iso: str
    country_name: str
    operator: str
    price: Decimal
    stock: int


@dataclass
class BuyChoices:
    services: list[Service]
    countries: list[Country]
    service: str | None
    country: str | None
    offers: list[Offer]


def buy_choices(service: str | None, country: str | None) -> BuyChoices:
    """The services and countries with numbers in stock, and the offers for the chosen ones."""
    service_row = catalog.resolve_service(service) if service else None
    country_row = catalog.resolve_country(country) if country else None
    in_stock = Price.select(Price.service).join(Provider).where(Provider.enabled & (Price.stock > 0)).distinct()
    services = list(Service.select().where(Service.code.in_(in_stock)).order_by(Service.name))
    countries = list(catalog.countries().order_by(Country.name))
    offers = []
    if service_row is not None or country_row is not None:
        service_names = {row.code: row.name for row in services}
        country_names = {row.id: row.name for row in countries}
        for row in catalog.best_prices(service_row, country_row).dicts().limit(500):
            offers.append(
                Offer(
                    row["service"],
                    service_names.get(row["service"], row["service"]),
                    row["country_iso"],
                    country_names.get(row["country"], row["country_iso"]),
                    row["operator"],
                    row["price"],
                    int(row["stock"]),
                )
            )
    return BuyChoices(
        services,
        countries,
        service_row.code if service_row else None,
        country_row.iso2 if country_row else None,
        offers,
    )


def buy(user_id: int, service: str, country: str, operator: str = "any", max_price: str = "") -> Activation:
    """A purchase made in the dashboard: the owner's, under no key (no key's quota or guardrails)."""
    try:
        ceiling = money.parse_amount(max_price) if max_price.strip() else None
    except ValueError as exc:
        raise BadRequest(f"max price must be {money.AMOUNT_RULE}") from exc
    order = purchases.Order(
        catalog.resolve_service(service), catalog.resolve_country(country), (operator or "any")[:32], ceiling
    )
    return purchases.buy(Caller(key_id=None, user_id=user_id, daily_quota=0), order)


# Webhooks


def webhook_list(user_id: int) -> list:
    return list(webhooks.listing(user_id))
