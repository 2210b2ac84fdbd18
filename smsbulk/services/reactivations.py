"""Reactivation: a new activation on the number of a completed one, for the same service.

The quote asks the provider that sold the number whether it can sell it again and for what (a
provider that cannot says so: ReactivationUnavailable), with its markup, rounded once. Buying is
a purchase like any other (purchases.py: debit, PENDING row, the purchase job, the wait), whose
row names the activation it reactivates: the job then asks that provider for that number and no
other (no failover: another provider has another number). The new activation gets its own id
and the normal lifecycle and money rules: refunded if it fails, is cancelled before its code or
expires without one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from ..auth import Caller
from ..errors import ActivationNotFound, PriceTooHigh, ReactivationFailed, ReactivationUnavailable, WrongActivationId
from ..models import Activation, Provider
from ..models import activations as st
from ..providers.base import AmbiguousPurchaseError, ProviderError
from . import catalog, providers, purchases, routing, states
from .activations import get_for_owner
from .fulfilment import current_status, end_attempt, record_number, start_attempt
from .purchase_job import SKIPPED, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReactivationQuote:
    source: Activation  # the completed activation whose number is bought again
    price: Decimal  # what the new activation costs the user
    cost: Decimal  # what the provider asks


def quote(user_id: int, activation_id: str | int) -> ReactivationQuote:
    """The price of buying a completed activation's number again, from the provider that sold it."""
    source = get_for_owner(user_id, activation_id)
    if source.status != st.COMPLETED or source.provider_id is None or not source.phone_number:
        raise ReactivationUnavailable(status=source.status)
    provider = source.provider
    try:
        cost = routing.adapter_for(provider).reactivation_cost(
            source.provider_ref, source.service_id, source.country_id, source.phone_number
        )
    except ProviderError as exc:  # cannot at all, or not this number now
        raise ReactivationUnavailable(reason=type(exc).__name__) from exc
    price = catalog.user_price(cost, providers.markup_of(provider))
    return ReactivationQuote(source, price, catalog.cost_units(cost))


def _order(user_id: int, activation_id: str | int, max_price: Decimal | None, idempotency_key: str | None):
    offer = quote(user_id, activation_id)
    if max_price is not None and offer.price > max_price:
        raise PriceTooHigh(minPrice=f"{offer.price:f}", maxPrice=f"{max_price:f}")
    source = offer.source
    return purchases.Order(
        service=source.service,
        country=source.country,
        operator=source.operator,
        max_price=max_price,
        idempotency_key=idempotency_key,
        reactivation_of=source,
        price=offer.price,
    )


def reactivate(
    caller: Caller, activation_id: str | int, max_price: Decimal | None = None, idempotency_key: str | None = None
) -> Activation:
    """Buy the number again (REST): the new activation, with its number or PENDING."""
    return purchases.buy(caller, _order(caller.user_id, activation_id, max_price, idempotency_key))


def reactivate_now(caller: Caller, activation_id: int) -> Activation:
    """Buy the number again for the legacy protocol: the new activation with its number, or
    NEW_ACTIVATION_IMPOSSIBLE (refunded) when the provider would not sell it in time. An id that
    names no activation of this owner is WRONG_ACTIVATION_ID (the protocol's "wrong parent")."""
    try:
        order = _order(caller.user_id, activation_id, None, None)
    except ActivationNotFound as error:
        raise WrongActivationId(id=str(activation_id)) from error
    activation = purchases.buy_now(caller, order)
    if activation.status != st.WAITING:
        raise ReactivationFailed(status=activation.status)
    return activation


def quote_legacy(user_id: int, activation_id: int) -> ReactivationQuote:
    """quote() for checkExtraActivation, where an unknown id is WRONG_ACTIVATION_ID."""
    try:
        return quote(user_id, activation_id)
    except ActivationNotFound as error:
        raise WrongActivationId(id=str(activation_id)) from error


def fulfil_reactivation(order: Activation) -> Outcome:
    """The purchase job of a reactivation: the provider of the source sells its number again."""
    source = Activation.select(Activation.provider, Activation.provider_ref, Activation.phone_number).where(
        Activation.id == order.reactivation_of_id
    )
    source = source.first()
    provider = Provider.get_or_none(Provider.id == source.provider_id) if source is not None else None
    if provider is None or not provider.enabled:
        return _failed(order)
    reference = start_attempt(order, provider)
    if reference is None:
        return SKIPPED
    adapter = routing.adapter_for(provider)
    try:
        bought = adapter.reactivate(
            source.provider_ref, order.service_id, order.country_id, source.phone_number, order.user_cost, reference
        )
    except AmbiguousPurchaseError as exc:
        log.warning("reactivation %s at %s got no clear answer (%s)", order.id, provider.name, exc)
        from .recovery import settle_attempt

        return settle_attempt(order.id, in_job=True) or Outcome(current_status(order.id))
    except ProviderError as exc:
        log.info("provider %s would not reactivate for activation %s: %s", provider.name, order.id, exc)
        end_attempt(order.id, reference)
        return _failed(order)
    return record_number(order.id, order.user_id, provider, bought, reference) or _failed(order)


def _failed(order: Activation) -> Outcome:
    failed = states.move(order.id, order.user_id, st.FAILED, {"attempt_started_at": None})
    return Outcome(failed.status if failed is not None else current_status(order.id))
