"""Which upstream to buy from: candidates by priority then price, and their adapters."""

from __future__ import annotations

import threading
from decimal import Decimal

from flask import current_app

from ..extensions import get_redis
from ..models import Country, Price, Provider
from ..providers import build_adapter
from ..providers.base import ProviderAdapter
from . import catalog

_adapters: dict[tuple, ProviderAdapter] = {}
_countries: dict[int, str] = {}
_lock = threading.Lock()


def _country_codes() -> dict[int, str]:
    if not _countries:
        with _lock:
            _countries.update({c.id: c.iso2 for c in Country.select(Country.id, Country.iso2)})
    return _countries


def adapter_for(provider: Provider) -> ProviderAdapter:
    """The adapter of a provider row; rebuilt when the operator changes the row."""
    signature = (provider.id, provider.kind, provider.base_url, provider.api_key, provider.name)
    adapter = _adapters.get(signature)
    if adapter is None:
        adapter = build_adapter(provider, current_app.config, get_redis(), _country_codes())
        with _lock:
            _adapters[signature] = adapter
    return adapter


def candidates(service: str, country_id: int, operator: str, max_user_price: Decimal | None) -> list[Price]:
    """In-stock offers of enabled providers, by priority then price, never above what the user pays."""
    query = (
        Price.select(Price, Provider)
        .join(Provider)
        .where(Provider.enabled & (Price.service == service) & (Price.country == country_id) & (Price.stock > 0))
        .order_by(Provider.priority, Price.user_price, Provider.id)
    )
    if operator and operator != "any":
        query = query.where(Price.operator.in_([operator, "any"]))
    if max_user_price is not None:
        query = query.where(Price.user_price <= max_user_price)
    return list(query)


def reset_caches() -> None:
    """Forget adapters and the country table (tests use a fresh database each time)."""
    with _lock:
        _adapters.clear()
        _countries.clear()
        catalog._iso_by_id.clear()
