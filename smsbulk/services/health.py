"""Provider health: each provider's circuit breaker (kept in Redis, shared by every process), a
process's short-lived read of it, and the wrapper that reports every upstream call's outcome.

routing.adapter_for() hands out adapters wrapped in Watched, so each call to an upstream feeds
the breaker in one place, never at the call sites.
"""

from __future__ import annotations

import logging
import time

from flask import current_app

from .. import metrics
from ..extensions import get_redis
from ..models import Provider
from ..providers.base import ProviderAdapter, ProviderError
from ..providers.breaker import Breaker, Health

log = logging.getLogger(__name__)

# (instance, provider id) -> (when it goes stale, circuit open, failures counted): see health().
_health: dict[tuple[str, int], tuple[float, bool, bool]] = {}

# The adapter methods that call the upstream.
CALLS = frozenset(
    {"buy", "statuses", "cancel", "finish", "request_another", "open_purchases", "purchase_for", "prices", "balance"}
    | {"rent_prices", "rent", "rent_statuses", "extension_cost", "extend_rent", "finish_rent", "cancel_rent"}
    | {"reactivation_cost", "reactivate"}
)


def breaker() -> Breaker:
    config = current_app.config
    return Breaker(get_redis(), config["PROVIDER_BREAKER_THRESHOLD"], config["PROVIDER_BREAKER_COOLDOWN_SECONDS"])


def report(provider: Provider, exc: BaseException | None, counting: bool = True) -> None:
    """Feed the outcome of one upstream call to the provider's circuit breaker (counting: see
    Breaker.record; an offer from routing.candidates() knows it as offer.failures_counted)."""
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


def open_ids(provider_ids) -> set[int]:
    return breaker().open_ids(provider_ids)


class Watched:
    """An adapter whose upstream calls report their outcome to the provider's breaker: a
    ProviderError counts against its health (when it says so: Breaker.record), an answer for it.
    Anything else (a bug, our own Redis failing) is not the upstream's and is not reported."""

    def __init__(self, provider: Provider, adapter: ProviderAdapter, counting: bool = True) -> None:
        self.provider = provider
        self.adapter = adapter
        self.counting = counting

    def __getattr__(self, name: str):
        method = getattr(self.adapter, name)
        if name not in CALLS:
            return method

        def call(*args, **kwargs):
            try:
                result = method(*args, **kwargs)
            except ProviderError as exc:
                report(self.provider, exc)
                raise
            report(self.provider, None, self.counting)
            return result

        return call


def forget() -> None:
    _health.clear()
