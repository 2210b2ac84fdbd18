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

DEFAULT_TIMEOUT = 10.0  # seconds, for connect and for read; the PROVIDER_TIMEOUT_SECONDS setting


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


class UnsupportedError(PermanentProviderError):
    """The upstream's API has no such product (rentals, their extension, reactivation)."""


class CannotTell(Exception):  # noqa: N818 - an answer, not a failure
    """The upstream cannot say what it sold for one of our references (not a ProviderError: it
    says nothing about the upstream's health)."""


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
    sender: str | None = None  # who sent it, where the upstream says (rentals show it)
    service: str | None = None  # our service code, where the upstream says


# Upstream states, as seen by `statuses()`.
WAITING = "waiting"  # number held, no (new) SMS yet
RECEIVED = "received"  # at least one SMS; see messages
CANCELED = "canceled"  # the upstream cancelled / refunded it
FINISHED = "finished"  # the upstream considers it complete


@dataclass
class Status:
    state: str
    messages: list[Message] = field(default_factory=list)


# Upstream states of a rented number, as seen by `rent_statuses()`. FINISHED and CANCELED above
# also apply: ended (its time ran out, or it was finished) and given back with a refund to us.
ACTIVE = "active"  # held for us, receiving SMS
REVOKED = "revoked"  # the upstream took it back before its end


@dataclass
class RentStatus:
    state: str
    messages: list[Message] = field(default_factory=list)
    ends_at: datetime.datetime | None = None  # naive UTC, where the upstream says


@dataclass(frozen=True)
class Rented:
    """A rented number, or an extension of one (the same ref, a later end)."""

    ref: str  # the upstream's rental id
    phone: str  # digits only, country code included
    cost: Decimal  # what the upstream charged us for these hours
    ends_at: datetime.datetime | None = None  # naive UTC, where the upstream says


@dataclass(frozen=True)
class RentQuote:
    service: str  # our service code; "full" receives the SMS of every service
    country_id: int
    operator: str
    hours: int
    cost: Decimal  # for exactly these hours
    stock: int
    any_hours: bool = True  # False: the upstream rents exactly these hours, no other length


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

    def purchase_for(self, reference: str, service: str, country_id: int) -> Purchase | None:
        """The number the upstream sold us for this reference (sent with buy()), or None if it sold
        none for it; raises CannotTell where the protocol cannot look a reference up (then the
        caller looks among open_purchases())."""
        raise CannotTell(self.kind)

    @abc.abstractmethod
    def prices(self) -> list[Quote]: ...

    # -- rentals and reactivation: where the upstream's API offers them ----------------------
    # The defaults say plainly that it does not: UnsupportedError, or no rental offers at all.

    def rent_prices(self, hours: list[int]) -> list[RentQuote]:
        """Rental prices and stock; `hours` are the lengths to quote where any length can be
        rented (an upstream with fixed lengths quotes its own, any_hours=False)."""
        return []

    def rent(
        self, service: str, country_id: int, operator: str, hours: int, max_cost: Decimal | None, reference: str
    ) -> Rented:
        raise UnsupportedError(f"{self.kind} rents no numbers")

    def rent_statuses(self, refs: list[str]) -> dict[str, RentStatus]:
        """State and every SMS of many rentals; refs the upstream does not mention are left out."""
        return {}

    def extension_cost(self, ref: str, hours: int) -> Decimal:
        raise UnsupportedError(f"{self.kind} cannot extend a rental")

    def extend_rent(self, ref: str, hours: int, max_cost: Decimal | None) -> Rented:
        raise UnsupportedError(f"{self.kind} cannot extend a rental")

    def finish_rent(self, ref: str) -> None:
        raise UnsupportedError(f"{self.kind} rents no numbers")

    def cancel_rent(self, ref: str) -> None:
        raise UnsupportedError(f"{self.kind} rents no numbers")

    def reactivation_cost(self, ref: str, service: str, country_id: int, phone: str) -> Decimal:
        """What a new activation on the number of a completed one costs us; UnsupportedError
        where the upstream cannot, NoNumbersError where it cannot for this number now."""
        raise UnsupportedError(f"{self.kind} cannot reactivate a number")

    def reactivate(
        self, ref: str, service: str, country_id: int, phone: str, max_cost: Decimal | None, reference: str
    ) -> Purchase:
        """A new activation on the same number for the same service: its own ref and cost."""
        raise UnsupportedError(f"{self.kind} cannot reactivate a number")

    @abc.abstractmethod
    def balance(self) -> Decimal: ...
