"""Worker side of a purchase: buy upstream outside any transaction, record once, or refund once."""

from __future__ import annotations

import datetime
import logging

from flask import current_app

from ..models import Activation
from ..models import activations as st
from ..models.base import utcnow
from ..providers.base import AmbiguousPurchaseError, ProviderError, Purchase
from . import routing
from .activations import _move, close_with_refund

log = logging.getLogger(__name__)


def claim(activation_id: int) -> Activation | None:
    """The status guard: only one run may work on a PENDING activation."""
    rows = (
        Activation.update(claimed_at=utcnow(), attempts=Activation.attempts + 1)
        .where((Activation.id == activation_id) & (Activation.status == st.PENDING) & Activation.claimed_at.is_null())
        .execute()
    )
    return Activation.get_by_id(activation_id) if rows == 1 else None


def fulfil(activation_id: int) -> str:
    """The purchase job. Running it twice buys once: the second run finds no claimable row."""
    activation = claim(activation_id)
    if activation is None:
        return "skipped"
    offers = routing.candidates(activation.service_id, activation.country_id, activation.operator, activation.user_cost)
    for offer in offers:
        adapter = routing.adapter_for(offer.provider)
        try:
            bought = adapter.buy(
                activation.service_id, activation.country_id, activation.operator, offer.cost, str(activation.id)
            )
        except AmbiguousPurchaseError:
            # The upstream may have sold us a number we cannot see: never buy again blindly.
            log.warning("possible orphan number at %s for activation %s", offer.provider.name, activation.id)
            break
        except ProviderError as exc:
            log.info("provider %s failed for activation %s: %s", offer.provider.name, activation.id, type(exc).__name__)
            continue
        return record_number(activation.id, offer.provider, bought)
    close_with_refund(activation.id, st.FAILED, (st.PENDING,))
    return st.FAILED


def record_number(activation_id: int, provider, bought: Purchase) -> str:
    """PENDING -> WAITING with the number; safe to run twice."""
    lifetime = datetime.timedelta(seconds=current_app.config["ACTIVATION_LIFETIME_SECONDS"])
    moved = _move(
        activation_id,
        (st.PENDING,),
        status=st.WAITING,
        provider=provider.id,
        provider_ref=bought.ref,
        provider_cost=bought.cost,
        phone_number="".join(ch for ch in bought.phone if ch.isdigit()),
        expires_at=utcnow() + lifetime,
    )
    if not moved:
        # Closed meanwhile (the sweeper failed it): give the number back upstream.
        log.warning("activation %s closed before its number was recorded; releasing it", activation_id)
        try:
            routing.adapter_for(provider).cancel(bought.ref)
        except ProviderError:
            log.warning("could not release number %s at %s", bought.ref, provider.name)
        return Activation.get_by_id(activation_id).status
    return st.WAITING
