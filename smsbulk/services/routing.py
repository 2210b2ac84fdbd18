"""Which upstream to buy from: candidates by priority then price, and their adapters.

Provider rows are read on every purchase, poll and sync, so an operator's change (`flask
providers ...`) reaches a running web, worker and cron without a restart: the adapter cache
below is keyed by the row's fields and rebuilds an adapter whose row changed.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from decimal import Decimal

from flask import current_app

from ..compiled import compiled_rows
from ..extensions import get_redis
from ..models import Price, Provider
from ..providers import build_adapter
from ..providers.base import ProviderAdapter
from . import catalog, health

log = logging.getLogger(__name__)

# (instance, provider id) -> (signature of the row, adapter). The instance (its database URL)
# is part of the key so two apps in one process (tests of one SMSBulk buying from another)
# never share an adapter.
_adapters: dict[tuple[str, int], tuple[tuple, ProviderAdapter]] = {}
_lock = threading.Lock()
# (instance, statement, parameters) -> (when it goes stale, the offers read): see _offer_rows().
_offers: dict[tuple, tuple[float, list[Price]]] = {}
MAX_CACHED_ROUTES = 10_000


def _country_codes() -> dict[int, str]:
    return {country_id: country.iso2 for country_id, country in catalog.reference.table("countries").items()}


def adapter_for(provider: Provider, counting: bool = True) -> health.Watched:
    """The adapter of a provider row, each of its upstream calls reported to the provider's
    breaker (health.Watched; counting: see Breaker.record)."""
    return health.Watched(provider, _adapter(provider), counting)


def _adapter(provider: Provider) -> ProviderAdapter:
    """The bare adapter of a provider row; rebuilt when the operator changes the row or the timeout."""
    config = current_app.config
    slot = (config["DATABASE_URL"], provider.id)
    signature = (provider.kind, provider.base_url, provider.api_key, provider.name, config["PROVIDER_TIMEOUT_SECONDS"])
    cached = _adapters.get(slot)
    if cached is not None and cached[0] == signature:
        return cached[1]
    adapter = build_adapter(provider, config, get_redis(), _country_codes())
    with _lock:
        _adapters[slot] = (signature, adapter)
    return adapter


def candidates(service: str, country_id: int, operator: str, max_cost: Decimal | None = None) -> list[Price]:
    """In-stock offers of enabled providers with a closed circuit, by priority, then price.

    With max_cost, only offers that cost us at most that much: failover never sells at a loss.
    Each offer comes with its provider row, and with failures_counted: whether the provider's
    breaker had failures counted when read, which a success then resets. A purchase reads this
    twice (quote and job): a compiled statement (smsbulk/compiled.py), whose parameters follow
    _offers_query()."""
    operator = operator if operator and operator != "any" else None
    params: list = [service, country_id, 0]
    if operator:
        params += [operator, "any"]
    if max_cost is not None:
        params.append(Price.cost.db_value(max_cost))
    name = f"offers{'-by-operator' if operator else ''}{'-max-cost' if max_cost is not None else ''}"
    offers = _offer_rows(name, params, lambda: _offers_query(service, country_id, operator, max_cost))
    circuits = health.health(offer.provider_id for offer in offers)
    for offer in offers:
        offer.failures_counted = offer.provider_id in circuits.counting
    return [offer for offer in offers if offer.provider_id not in circuits.open]


def _offer_rows(name: str, params: list, query) -> list[Price]:
    """A route's offers, read by each process at most every OFFERS_CACHE_SECONDS (a purchase
    reads them twice, in its quote and in its job): an operator's change of a price, a stock or
    a provider reaches the quotes within that time. Each caller gets copies, as it marks them
    (failures_counted)."""
    config = current_app.config
    ttl, key = config["OFFERS_CACHE_SECONDS"], (config["DATABASE_URL"], name, *params)
    if ttl <= 0:
        return compiled_rows(name, query, *params)
    now = time.monotonic()
    cached = _offers.get(key)
    if cached is None or cached[0] <= now:
        if len(_offers) >= MAX_CACHED_ROUTES:
            _offers.clear()
        cached = _offers[key] = (now + ttl, compiled_rows(name, query, *params))
    return [copy.copy(offer) for offer in cached[1]]


def _offers_query(service: str, country_id: int, operator: str | None, max_cost: Decimal | None):
    query = (
        Price.select(Price, Provider)
        .join(Provider)
        .where(Provider.enabled & (Price.service == service) & (Price.country == country_id) & (Price.stock > 0))
        .order_by(Provider.priority, Price.user_price, Price.cost, Provider.id)
    )
    if operator:
        query = query.where(Price.operator.in_([operator, "any"]))
    if max_cost is not None:
        query = query.where(Price.cost <= max_cost)
    return query


def reset_caches() -> None:
    """Forget adapters, circuits and the reference tables (tests use a fresh database each time)."""
    with _lock:
        _adapters.clear()
    _offers.clear()
    health.forget()
    catalog.reference.clear()
