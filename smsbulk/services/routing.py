"""Which upstream to buy from: candidates by priority then price, their health, and their adapters.

Provider rows are read on every purchase, poll and sync, so an operator's change (`flask
providers ...`) reaches a running web, worker and cron without a restart: the adapter cache
below is keyed by the row's fields and rebuilds an adapter whose row changed.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

from flask import current_app

from ..extensions import get_redis
from ..models import Country, Price, Provider
from ..providers import build_adapter
from ..providers.base import ProviderAdapter
from ..providers.breaker import Breaker
from . import catalog

log = logging.getLogger(__name__)

# (instance, provider id) -> (signature of the row, adapter). The instance (its database URL)
# is part of the key so two apps in one process (tests of one SMSBulk buying from another)
# never share an adapter.
_adapters: dict[tuple[str, int], tuple[tuple, ProviderAdapter]] = {}
_countries: dict[int, str] = {}
_lock = threading.Lock()


def _country_codes() -> dict[int, str]:
    if not _countries:
        with _lock:
            _countries.update({c.id: c.iso2 for c in Country.select(Country.id, Country.iso2)})
    return _countries


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


def report(provider: Provider, exc: BaseException | None) -> None:
    """Feed the outcome of one upstream call to the provider's circuit breaker."""
    if breaker().record(provider.id, exc):
        log.warning("circuit of provider %s opened after repeated failures", provider.name)


def candidates(service: str, country_id: int, operator: str, max_cost: Decimal | None = None) -> list[Price]:
    """In-stock offers of enabled providers with a closed circuit, by priority, then price.

    With max_cost, only offers that cost us at most that much: failover never sells at a loss."""
    query = (
        Price.select(Price, Provider)
        .join(Provider)
        .where(Provider.enabled & (Price.service == service) & (Price.country == country_id) & (Price.stock > 0))
        .order_by(Provider.priority, Price.user_price, Price.cost, Provider.id)
    )
    if operator and operator != "any":
        query = query.where(Price.operator.in_([operator, "any"]))
    if max_cost is not None:
        query = query.where(Price.cost <= max_cost)
    offers = list(query)
    unhealthy = breaker().open_ids(offer.provider_id for offer in offers)
    return [offer for offer in offers if offer.provider_id not in unhealthy]


def reset_caches() -> None:
    """Forget adapters and the country table (tests use a fresh database each time)."""
    with _lock:
        _adapters.clear()
        _countries.clear()
        catalog._iso_by_id.clear()
