"""Worker side of a purchase: buy upstream outside any transaction, record once, or refund once.

Failover: the offers come from routing in priority-then-price order, restricted to providers
with a closed circuit and to offers that cost us at most what the user paid (see quote()).
No numbers, a price above the offer, an empty account there or a transient failure moves on
to the next offer. An answer that may hide a purchase (a timeout after sending) is never
retried: it is reconciled through the upstream's list of open numbers, or refunded and logged.
"""

from __future__ import annotations

import datetime
import logging

from flask import current_app

from ..compiled import column_params, compiled_rowcount, compiled_rows
from ..extensions import get_redis
from ..models import Activation, Price, Provider
from ..models import activations as st
from ..models.base import utcnow
from ..providers.base import AmbiguousPurchaseError, ProviderError, Purchase
from . import catalog, routing
from .activations import close_with_refund

log = logging.getLogger(__name__)

# A claimed purchase younger than this may still be waiting for its upstream answer (the purchase
# job's timeout is 60 s): while one is, an unknown open number upstream may be its, not ours.
IN_FLIGHT_SECONDS = 90
ATTEMPT_TTL = 24 * 3600


# What a purchase job needs of the row it claims: the order (the rest would be read and parsed
# for nothing - datetimes cost a parse each on SQLite).
ORDER = (Activation.id, Activation.service, Activation.country, Activation.operator, Activation.user_cost)


def claim(activation_id: int) -> Activation | None:
    """The status guard: only one run may work on a PENDING activation. The claimed row holds
    its ORDER columns only."""
    now = utcnow()
    claimed = compiled_rows(
        "claim-purchase",
        lambda: (
            Activation.update(claimed_at=now, attempts=Activation.attempts + 1)
            .where(
                (Activation.id == activation_id) & (Activation.status == st.PENDING) & Activation.claimed_at.is_null()
            )
            .returning(*ORDER)
        ),
        now,
        1,
        activation_id,
        st.PENDING,
    )
    return claimed[0] if claimed else None


def fulfil(activation_id: int) -> dict:
    """The purchase job. Running it twice buys once: the second run finds no claimable row.

    Its result is {"status": ...}, with the number's fields when this run recorded one: a
    request waiting on the job answers from it (activations.buy)."""
    activation = claim(activation_id)
    if activation is None:
        return {"status": "skipped"}
    offers = routing.candidates(
        activation.service_id, activation.country_id, activation.operator, max_cost=activation.user_cost
    )
    for offer in offers:
        outcome = _try_offer(activation, offer)
        if outcome is not None:
            return outcome
    close_with_refund(activation.id, st.FAILED, (st.PENDING,))
    return {"status": st.FAILED}


def _try_offer(activation: Activation, offer: Price) -> dict | None:
    """Buy from one offer: the outcome (see fulfil), or None to try the next offer."""
    provider = offer.provider
    _remember_attempt(activation.id, provider.id)
    try:
        bought = routing.adapter_for(provider).buy(
            activation.service_id, activation.country_id, activation.operator, offer.cost, str(activation.id)
        )
    except AmbiguousPurchaseError as exc:
        routing.report(provider, exc)
        log.warning("purchase of activation %s at %s got no clear answer (%s)", activation.id, provider.name, exc)
        return resolve_ambiguous(activation.id, provider)
    except ProviderError as exc:
        routing.report(provider, exc)
        log.info("provider %s failed for activation %s: %s", provider.name, activation.id, type(exc).__name__)
        return None
    routing.report(provider, None, offer.failures_counted)
    return record_number(activation.id, provider, bought)


def _attempt_key(activation_id: int) -> str:
    return f"purchase-attempt:{activation_id}"


def _remember_attempt(activation_id: int, provider_id: int) -> None:
    """Which provider a purchase is being tried at, for the sweeper if this job dies mid-call."""
    get_redis().set(_attempt_key(activation_id), provider_id, ex=ATTEMPT_TTL)


def attempted_provider(activation_id: int) -> Provider | None:
    raw = get_redis().get(_attempt_key(activation_id))
    return Provider.get_or_none(Provider.id == int(raw)) if raw else None


def resolve_ambiguous(activation_id: int, provider: Provider | None) -> dict:
    """A purchase that may have bought a number we never saw: adopt it if the upstream's open
    numbers show exactly one we do not know, else refund and log the possible orphan. The
    outcome as fulfil() gives it."""
    found = find_lost_number(activation_id, provider) if provider is not None else None
    if found is not None:
        log.warning("activation %s reconciled: number %s found open at %s", activation_id, found.ref, provider.name)
        return record_number(activation_id, provider, found)
    if close_with_refund(activation_id, st.FAILED, (st.PENDING,)):
        where = provider.name if provider is not None else "an unknown provider"
        log.warning(
            "possible orphan number at %s for activation %s: refunded, check the upstream", where, activation_id
        )
    return {"status": Activation.get_by_id(activation_id).status}


def find_lost_number(activation_id: int, provider: Provider) -> Purchase | None:
    """The one open number at the provider, for this service and country, that no activation of
    ours holds - unless another purchase is in flight and could own it, or there are several."""
    activation = Activation.get_by_id(activation_id)
    try:
        listed = routing.adapter_for(provider).open_purchases(activation.service_id, activation.country_id)
    except ProviderError as exc:
        log.warning("cannot list open numbers at %s: %s", provider.name, type(exc).__name__)
        return None
    if not listed:
        return None  # None: the protocol cannot list them; []: nothing there
    # Checked after listing: a number in the list is either recorded by now or its purchase is
    # still PENDING and claimed (record_number sets the ref and the status in one UPDATE).
    if _other_purchases_in_flight(activation):
        log.warning("activation %s not reconciled: other purchases in flight", activation_id)
        return None
    refs = [p.ref for p in listed]
    known = Activation.select(Activation.provider_ref).where(
        (Activation.provider == provider.id) & Activation.provider_ref.in_(refs)
    )
    held = {ref for (ref,) in known.tuples()}
    unknown = [p for p in listed if p.ref not in held]
    if len(unknown) > 1:
        log.warning(
            "activation %s not reconciled: %d unknown open numbers at %s", activation_id, len(unknown), provider.name
        )
    return unknown[0] if len(unknown) == 1 else None


def _other_purchases_in_flight(activation: Activation) -> bool:
    since = utcnow() - datetime.timedelta(seconds=IN_FLIGHT_SECONDS)
    return (
        Activation.select()
        .where(
            (Activation.status == st.PENDING)
            & (Activation.id != activation.id)
            & (Activation.service == activation.service_id)
            & (Activation.country == activation.country_id)
            & (Activation.claimed_at >= since)
        )
        .exists()
    )


def record_number(activation_id: int, provider: Provider, bought: Purchase) -> dict:
    """PENDING -> WAITING with the number; safe to run twice. The outcome as fulfil() gives it:
    the new status, number and expiry - the whole change a purchase's answer needs."""
    lifetime = datetime.timedelta(seconds=current_app.config["ACTIVATION_LIFETIME_SECONDS"])
    now = utcnow()
    changes = {
        "status": st.WAITING,
        "provider": provider.id,
        "provider_ref": bought.ref,
        "provider_cost": catalog.cost_units(bought.cost),
        "phone_number": "".join(ch for ch in bought.phone if ch.isdigit()),
        "updated_at": now,
        "expires_at": now + lifetime,
    }
    moved = compiled_rowcount(
        "record-number",
        lambda: Activation.update(changes).where((Activation.id == activation_id) & (Activation.status == st.PENDING)),
        *column_params(Activation, changes),
        activation_id,
        st.PENDING,
    )
    if not moved:
        # Closed meanwhile (the sweeper failed it): give the number back upstream.
        log.warning("activation %s closed before its number was recorded; releasing it", activation_id)
        try:
            routing.adapter_for(provider).cancel(bought.ref)
        except ProviderError:
            log.warning("could not release number %s at %s", bought.ref, provider.name)
        return {"status": Activation.get_by_id(activation_id).status}
    return {
        "status": st.WAITING,
        "phone_number": changes["phone_number"],
        "expires_at": changes["expires_at"].isoformat(),
    }
