"""Provider configuration (rows the operator manages with `flask providers ...`) and the price sync.

Every process reads Provider rows when it needs them, so a change here reaches a running web,
worker and cron at once. A disabled provider sells nothing and gets no new prices; its open
activations are still polled, finished and cancelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from ..extensions import db
from ..models import Provider
from ..money import to_money
from ..providers import KINDS
from ..providers.base import ProviderError, UnsupportedError
from . import catalog, health, rent_pricing, routing

log = logging.getLogger(__name__)

NEEDS_URL = ("sms-activate",)  # kinds with no default base URL
NEEDS_KEY = ("sms-activate", "5sim")


class ProviderConfigError(ValueError):
    """An operator's provider setting that cannot work; the message says why."""


@dataclass(frozen=True)
class ProviderView:
    """A provider as shown to the operator: the key masked, the circuit state from Redis."""

    name: str
    kind: str
    base_url: str
    api_key: str
    priority: int
    markup: Decimal
    enabled: bool
    prices: int
    circuit: str


def markup_of(provider: Provider) -> Decimal:
    return provider.markup if provider.markup is not None else to_money(current_app.config["DEFAULT_MARKUP"])


def mask(secret: str) -> str:
    """Enough of a key to tell two apart, never enough to use it."""
    if not secret:
        return "-"
    return "****" + secret[-4:] if len(secret) >= 16 else "****"


def ensure_simulator() -> Provider:
    provider, _ = Provider.get_or_create(name="simulator", defaults={"kind": "simulator", "priority": 100})
    return provider


def _checked(values: dict) -> dict:
    """The row's settings if they can work; ProviderConfigError otherwise."""
    kind = values["kind"]
    if kind not in KINDS:
        raise ProviderConfigError(f"unknown kind {kind!r}; one of: {', '.join(sorted(KINDS))}")
    url = (values.get("base_url") or "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise ProviderConfigError("the base URL must start with http:// or https://")
    if kind in NEEDS_URL and not url:
        raise ProviderConfigError(f"a {kind} provider needs --base-url")
    if kind in NEEDS_KEY and not values.get("api_key"):
        raise ProviderConfigError(f"a {kind} provider needs --api-key")
    markup = values.get("markup")
    if markup is not None and to_money(markup) <= 0:
        raise ProviderConfigError("the markup must be above 0")
    return {**values, "base_url": url}


@db.atomic()
def add(name: str, kind: str, **settings) -> Provider:
    """A new provider row (enabled); its prices come with the next sync."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ProviderConfigError("the name must be 1 to 64 characters")
    if Provider.get_or_none(Provider.name == name) is not None:
        raise ProviderConfigError(f"provider {name!r} exists; change it with `providers set`")
    values = _checked({"kind": kind, **{k: v for k, v in settings.items() if v is not None}})
    return Provider.create(name=name, **values)


def get(name: str) -> Provider:
    provider = Provider.get_or_none(Provider.name == name)
    if provider is None:
        raise ProviderConfigError(f"no provider named {name!r}")
    return provider


@db.atomic()
def change(name: str, **settings) -> Provider:
    """Change some settings of a provider (None leaves one as it is)."""
    provider = get(name)
    current = {"kind": provider.kind, "base_url": provider.base_url, "api_key": provider.api_key}
    values = _checked({**current, **{k: v for k, v in settings.items() if v is not None}})
    Provider.update(**values).where(Provider.id == provider.id).execute()
    return get(name)


def set_enabled(name: str, enabled: bool) -> Provider:
    provider = get(name)
    Provider.update(enabled=enabled).where(Provider.id == provider.id).execute()
    return get(name)


def listing() -> list[ProviderView]:
    rows = list(Provider.select().order_by(Provider.priority, Provider.name))
    breaker = health.breaker()
    unhealthy = breaker.open_ids(p.id for p in rows)
    views = []
    for p in rows:
        failures = breaker.failures(p.id)
        circuit = "open" if p.id in unhealthy else (f"closed ({failures} failures)" if failures else "closed")
        count = p.prices.count()
        views.append(
            ProviderView(
                p.name, p.kind, p.base_url, mask(p.api_key), p.priority, markup_of(p), p.enabled, count, circuit
            )
        )
    return views


def sync_prices(name: str | None = None) -> dict[str, int]:
    """Pull prices and stock from each enabled provider (or the named one, if enabled).

    -1 for a provider whose upstream failed (its previous prices stay), -2 for a disabled one.
    Each provider's HTTP call runs outside any transaction; store_quotes opens its own. Rental
    prices come with them (sync_rent_prices)."""
    query = Provider.select().where(Provider.name == name) if name else Provider.select().where(Provider.enabled)
    result = {}
    for provider in query:
        if not provider.enabled:
            result[provider.name] = -2
            continue
        try:
            quotes = routing.adapter_for(provider).prices()
        except ProviderError as exc:
            log.warning("price sync of %s failed: %s", provider.name, type(exc).__name__)
            result[provider.name] = -1
            continue
        result[provider.name] = catalog.store_quotes(provider, quotes, markup_of(provider))
        sync_rent_prices(provider)
    return result


def sync_rent_prices(provider: Provider) -> int:
    """Pull a provider's rental prices (a separate failure: its activation prices stay fresh).

    -1 if the upstream failed (the previous rental prices stay); 0 where it rents nothing."""
    try:
        quotes = routing.adapter_for(provider).rent_prices(rent_pricing.tier_hours())
    except UnsupportedError:
        quotes = []
    except ProviderError as exc:
        log.warning("rental price sync of %s failed: %s", provider.name, type(exc).__name__)
        return -1
    return rent_pricing.store_rent_quotes(provider, quotes, markup_of(provider))
