"""Provider configuration and the price/stock sync."""

from __future__ import annotations

import logging
from decimal import Decimal

from flask import current_app

from ..models import Provider
from ..money import to_money
from ..providers.base import ProviderError
from . import catalog, routing

log = logging.getLogger(__name__)


def markup_of(provider: Provider) -> Decimal:
    return provider.markup if provider.markup is not None else to_money(current_app.config["DEFAULT_MARKUP"])


def ensure_simulator() -> Provider:
    provider, _ = Provider.get_or_create(name="simulator", defaults={"kind": "simulator", "priority": 100})
    return provider


def sync_prices(name: str | None = None) -> dict[str, int]:
    """Pull prices and stock from each enabled provider (or the named one)."""
    query = Provider.select().where(Provider.enabled)
    if name:
        query = Provider.select().where(Provider.name == name)
    result = {}
    for provider in query:
        try:
            quotes = routing.adapter_for(provider).prices()
        except ProviderError as exc:
            log.warning("price sync of %s failed: %s", provider.name, type(exc).__name__)
            result[provider.name] = -1
            continue
        result[provider.name] = catalog.store_quotes(provider, quotes, markup_of(provider))
    return result
