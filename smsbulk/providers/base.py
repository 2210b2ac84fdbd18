"""The one interface every upstream provider adapter implements.

Adapters translate their upstream's answers into these few result and error
classes (`raise ... from exc`), so services never see a provider's wire format.
Every HTTP call an adapter makes carries a timeout.
"""

from __future__ import annotations

import abc
import datetime
from dataclasses import dataclass, field
from decimal import Decimal


class ProviderError(Exception):
    """Base of every upstream failure."""


class NoNumbersError(ProviderError):
    """The upstream has no number for this request now: try the next provider."""


class PriceTooHighError(ProviderError):
    """The upstream's price is above the maximum we may pay: try the next provider."""


class OutOfFundsError(ProviderError):
    """Our account at the upstream cannot pay: try the next provider, alert the operator."""


class RetryableProviderError(ProviderError):
    """A transient failure before anything was bought (connection refused, 5xx, rate limit)."""


class PermanentProviderError(ProviderError):
    """The upstream refuses this request for good (bad key, unknown service)."""


class AmbiguousPurchaseError(ProviderError):
    """The request may have bought a number (timeout after sending): never retry blindly."""


@dataclass(frozen=True)
class Purchase:
    ref: str  # the upstream's activation id
    phone: str  # digits only, country code included
    cost: Decimal  # what the upstream charged us


@dataclass(frozen=True)
class Message:
    id: str  # stable per message, so a poll that sees it twice records it once
    text: str
    code: str | None
    received_at: datetime.datetime


# Upstream states, as seen by `statuses()`.
WAITING = "waiting"  # number held, no (new) SMS yet
RECEIVED = "received"  # at least one SMS; see messages
CANCELED = "canceled"  # the upstream cancelled / refunded it
FINISHED = "finished"  # the upstream considers it complete


@dataclass
class Status:
    state: str
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Quote:
    service: str  # our service code
    country_id: int  # our (SMS-Activate) country id
    operator: str
    cost: Decimal
    stock: int


class ProviderAdapter(abc.ABC):
    """One upstream. `reference` is our activation id, passed where the upstream accepts one."""

    kind: str = ""

    @abc.abstractmethod
    def buy(
        self, service: str, country_id: int, operator: str, max_cost: Decimal | None, reference: str
    ) -> Purchase: ...

    @abc.abstractmethod
    def statuses(self, refs: list[str]) -> dict[str, Status]:
        """Status and SMS of many activations in as few upstream calls as the protocol allows.

        Refs the upstream does not mention are left out of the answer."""

    @abc.abstractmethod
    def cancel(self, ref: str) -> None: ...

    @abc.abstractmethod
    def finish(self, ref: str) -> None: ...

    @abc.abstractmethod
    def request_another(self, ref: str) -> None: ...

    def open_purchases(self, service: str, country_id: int) -> list[Purchase] | None:
        """Numbers for (service, country) the upstream holds open for us and that have no SMS
        yet, so a purchase whose answer was lost can be found again; None where the protocol
        cannot list them."""
        return None

    @abc.abstractmethod
    def prices(self) -> list[Quote]: ...

    @abc.abstractmethod
    def balance(self) -> Decimal: ...
