"""Which upstream to buy from: candidates by priority then price, their health, and their adapters.

Provider rows are read on every purchase, poll and sync, so an operator's change (`flask
providers ...`) reaches a running web, worker and cron without a restart: the adapter cache
below is keyed by the row's fields and rebuilds an adapter whose row changed.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

from flask import current_app

from .. import metrics
from ..compiled import compiled_rows
from ..extensions import get_redis
from ..models import Price, Provider
from ..providers import build_adapter
from ..providers.base import ProviderAdapter
from ..providers.breaker import Breaker, Health
from . import catalog

log = logging.getLogger(__name__)

# (instance, provider id) -> (signature of the row, adapter). The instance (its database URL)
# is part of the key so two apps in one process (tests of one SMSBulk buying from another)
# never share an adapter.
_adapters: dict[tuple[str, int], tuple[tuple, ProviderAdapter]] = {}
_lock = threading.Lock()
# (instance, provider id) -> (when it goes stale, circuit open, failures counted): see health().
_health: dict[tuple[str, int], tuple[float, bool, bool]] = {}


def _country_codes() -> dict[int, str]:
    return {country_id: country.iso2 for country_id, country in catalog.reference.table("countries").items()}


def adapter_for(provider: Provider) -> ProviderAdapter:
    """The adapter of a provider row; rebuilt when the operator changes the row or the timeout."""
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


def breaker() -> Breaker:
    config = current_app.config
    return Breaker(get_redis(), config["PROVIDER_BREAKER_THRESHOLD"], config["PROVIDER_BREAKER_COOLDOWN_SECONDS"])


def report(provider: Provider, exc: BaseException | None, counting: bool = True) -> None:
    """Feed the outcome of one upstream call to the provider's circuit breaker (counting: see
    Breaker.record; an offer from candidates() knows it as offer.failures_counted)."""
    metrics.count_provider_call(provider.name, exc)
    opened = breaker().record(provider.id, exc, counting)
    if exc is not None or counting:  # the breaker's state changed: this process reads it afresh
        _health.pop((current_app.config["DATABASE_URL"], provider.id), None)
    if opened:
        log.warning("circuit of provider %s opened after repeated failures", provider.name)


def health(provider_ids) -> Health:
    """The circuits of these providers, read from Redis at most every PROVIDER_HEALTH_CACHE_SECONDS
    by each process.

    A purchase reads them twice (quote and job) and each read is a round trip, which costs a
    Gunicorn or RQ worker more than the SQL of the offers. A circuit this process opens or
    resets is read afresh at once (report()); one another process opened is seen within the
    cache time, and until then a quote may still include it: its purchase then costs a failed
    call and fails over, as for any provider that fails between quote and job. Likewise a
    failure another process counted is reset by a success here once this process has seen it."""
    config = current_app.config
    ttl, instance = config["PROVIDER_HEALTH_CACHE_SECONDS"], config["DATABASE_URL"]
    ids = sorted(set(provider_ids))
    now = time.monotonic()
    if ttl > 0:
        known = [_health.get((instance, provider_id)) for provider_id in ids]
        if all(entry is not None and entry[0] > now for entry in known):
            return Health(
                open={provider_id for provider_id, entry in zip(ids, known, strict=True) if entry[1]},
                counting={provider_id for provider_id, entry in zip(ids, known, strict=True) if entry[2]},
            )
    fresh = breaker().health(ids)
    if ttl > 0:
        for provider_id in ids:
            _health[(instance, provider_id)] = (now + ttl, provider_id in fresh.open, provider_id in fresh.counting)
    return fresh


def candidates(service: str, country_id: int, operator: str, max_cost: Decimal | None = None) -> list[Price]:
    """In-stock offers of enabled providers with a closed circuit, by priority, then price.

    With max_cost, only offers that cost us at most that much: failover never sells at a loss.
    Each offer comes with its provider row, and with failures_counted: whether the provider's
    breaker had failures counted when read, which a success then resets. A purchase reads this
    twice (quote and job): a compiled statement (smsbulk/compiled.py), whose parameters follow
    _offers()."""
    operator = operator if operator and operator != "any" else None
    params: list = [service, country_id, 0]
    if operator:
        params += [operator, "any"]
    if max_cost is not None:
        params.append(Price.cost.db_value(max_cost))
    name = f"offers{'-by-operator' if operator else ''}{'-max-cost' if max_cost is not None else ''}"
    offers = compiled_rows(name, lambda: _offers(service, country_id, operator, max_cost), *params)
    circuits = health(offer.provider_id for offer in offers)
    for offer in offers:
        offer.failures_counted = offer.provider_id in circuits.counting
    return [offer for offer in offers if offer.provider_id not in circuits.open]


def _offers(service: str, country_id: int, operator: str | None, max_cost: Decimal | None):
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
    _health.clear()
    catalog.reference.clear()
