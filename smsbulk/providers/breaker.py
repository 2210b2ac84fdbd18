"""A circuit breaker per provider, kept in Redis so the web, worker and cron processes share it.

Closed: calls go through; each failure that says "this upstream is unwell" (a transport error,
a 5xx, an answer that never came) is counted, and a success resets the count. `threshold`
failures in a row open the circuit for `cooldown` seconds: routing skips the provider and
polling leaves it alone. When the open key expires the circuit is half-open: the count is left
one short of the threshold, so the next call is a trial - one more failure opens it again at
once, a success closes it. Answers about the request itself (no numbers, price too high, a bad
service code) say nothing about health and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from .base import AmbiguousPurchaseError, RetryableProviderError

UNHEALTHY = (RetryableProviderError, AmbiguousPurchaseError)


@dataclass(frozen=True)
class Health:
    open: set[int]  # circuit open: leave these providers alone
    counting: set[int]  # failures counted since their last success (or half-open): a success resets them


def is_health_failure(exc: BaseException) -> bool:
    return isinstance(exc, UNHEALTHY)


class Breaker:
    def __init__(self, connection: redis.Redis, threshold: int, cooldown: int, prefix: str = "breaker") -> None:
        self.redis = connection
        self.threshold = max(1, threshold)
        self.cooldown = max(1, cooldown)
        self.prefix = prefix

    def _keys(self, provider_id: int) -> tuple[str, str]:
        return f"{self.prefix}:{provider_id}:failures", f"{self.prefix}:{provider_id}:open"

    def open_ids(self, provider_ids: Iterable[int]) -> set[int]:
        """The providers among these whose circuit is open now (one round trip)."""
        return self.health(provider_ids).open

    def health(self, provider_ids: Iterable[int]) -> Health:
        """Which of these providers have their circuit open, and which have failures counted (one MGET)."""
        ids = sorted(set(provider_ids))
        if not ids:
            return Health(set(), set())
        flags = self.redis.mget([key for provider_id in ids for key in self._keys(provider_id)])
        counts, opens = flags[0::2], flags[1::2]
        return Health(
            open={provider_id for provider_id, flag in zip(ids, opens, strict=True) if flag is not None},
            counting={provider_id for provider_id, count in zip(ids, counts, strict=True) if count is not None},
        )

    def is_open(self, provider_id: int) -> bool:
        return provider_id in self.open_ids([provider_id])

    def failures(self, provider_id: int) -> int:
        return int(self.redis.get(self._keys(provider_id)[0]) or 0)

    def record_failure(self, provider_id: int) -> bool:
        """Count one failure; True if it opened the circuit."""
        failures_key, open_key = self._keys(provider_id)
        pipe = self.redis.pipeline()
        pipe.incr(failures_key)
        # Failures long apart are not "in a row": the count fades after a quiet cool-down.
        pipe.expire(failures_key, self.cooldown)
        count = int(pipe.execute()[0])
        if count < self.threshold:
            return False
        pipe = self.redis.pipeline()
        pipe.set(open_key, count, ex=self.cooldown)
        # Half-open after the cool-down: one more failure re-opens at once.
        pipe.set(failures_key, self.threshold - 1, ex=self.cooldown * 3)
        pipe.execute()
        return True

    def record_success(self, provider_id: int) -> None:
        self.redis.delete(*self._keys(provider_id))

    def record(self, provider_id: int, exc: BaseException | None, counting: bool = True) -> bool:
        """Count the outcome of one call; True if a failure opened the circuit.

        Any answer from the upstream (no numbers, a bad service) shows it is up: a success.
        counting=False says a read of health() just before the call found nothing counted for
        this provider, so a success has nothing to reset and costs no round trip. A failure
        that a concurrent call counted in between stays counted: it is ordered after this
        success, as it would be had this call answered first."""
        if exc is not None and is_health_failure(exc):
            return self.record_failure(provider_id)
        if counting:
            self.record_success(provider_id)
        return False
