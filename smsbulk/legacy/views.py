"""Activation actions (reference §4.3): buy, follow, finish or cancel a number."""

from __future__ import annotations

from ..auth import Caller
from ..errors import FeatureUnavailable, NoNumbers
from ..models import Activation
from ..models.base import utcnow
from ..services import activations, reactivations, snapshots, subject_waits
from . import params, protocol, protocol_rent
from .dispatch import action
from .idempotency import by_order_id
from .params import Params

# setStatus codes (§3.2) -> the service call and the answer. `-1` is the pre-2019 cancel that
# smsactivateru still sends; `8` the current one.
SET_STATUS = {
    1: (activations.mark_ready, protocol.ACCESS_READY),
    3: (activations.request_another_code, protocol.ACCESS_RETRY_GET),
    6: (activations.finish, protocol.ACCESS_ACTIVATION),
    8: (activations.cancel, protocol.ACCESS_CANCEL),
    -1: (activations.cancel, protocol.ACCESS_CANCEL),
}


def order_from(p: Params) -> activations.Order:
    service, country = params.service(p), params.country(p)
    if p.get("activationType") in ("1", "2") or p.flag("verification"):
        raise FeatureUnavailable("NO_NUMBERS", 503, feature="voice")  # no call-verification numbers
    if p.flag("forward"):
        raise FeatureUnavailable("NO_NUMBERS", 503, feature="forwarding")  # no forwarding numbers
    params.check_phone_exception(p)
    return activations.Order(
        service=service,
        country=country,
        operator=params.operator(p),
        max_price=params.max_price(p),
        idempotency_key=params.order_id(p),
    )


def with_number(activation: Activation) -> Activation:
    """The protocol has no pending state: a purchase without a number is NO_NUMBERS (refunded)."""
    if not activation.phone_number or activation.status != "WAITING":
        raise NoNumbers(status=activation.status)
    return activation


@action("getNumber", scope="purchase")
@by_order_id(replay=True)
def get_number(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.number(with_number(activations.buy_now(caller, order_from(p))))


@action("getNumberV2", scope="purchase")
@by_order_id(replay=False)
def get_number_v2(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.number_v2(with_number(activations.buy_now(caller, order_from(p), reject_repeat=True)))


@action("setStatus", scope="purchase")
def set_status(p: Params, caller: Caller) -> protocol.Answer:
    activation_id = params.activation_id(p)
    service_call, answer = SET_STATUS[params.status_code(p)]
    service_call(caller.user_id, activation_id)
    return protocol.token(answer)


@action("getStatus", scope="read")
def get_status(p: Params, caller: Caller) -> protocol.Answer:
    """With the `wait` extension, the answer comes when it changes from a STATUS_WAIT_* one."""
    return subject_waits.status_when_changed(caller.user_id, params.activation_id(p), params.wait(p)).legacy_status


@action("getStatusV2", scope="read")
def get_status_v2(p: Params, caller: Caller) -> protocol.Answer:
    return snapshots.read(caller.user_id, params.activation_id(p), snapshots.LEGACY_FIELDS).legacy_status_v2


@action("getFullSms", scope="read")
def get_full_sms(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.full_sms(*activations.with_messages(caller.user_id, params.activation_id(p)))


@action("getActiveActivations", error_shape=protocol.ACTIVATION_JSON, scope="read")
def get_active_activations(p: Params, caller: Caller) -> protocol.Answer:
    offset = p.number("start", "offset", default=0, maximum=10**6)
    limit = p.number("limit", "length", default=500, maximum=500)
    return protocol.active_activations(activations.active_for_owner(caller.user_id, offset, limit))


@action("getHistory", scope="read")
def get_history(p: Params, caller: Caller) -> protocol.Answer:
    since, until = params.history_window(p, utcnow())
    offset = p.number("offset", default=0, maximum=10**6)
    limit = p.number("limit", "size", default=50, maximum=100)  # `size`: the HeroSMS spelling
    return protocol.history(activations.history_for_owner(caller.user_id, since, until, offset, limit))


# Reactivation (§4.3): the docs name the id `activationId`; aiosmsactivate sends `id`.
@action("checkExtraActivation", scope="read")
def check_extra_activation(p: Params, caller: Caller) -> protocol.Answer:
    offer = reactivations.quote_legacy(caller.user_id, params.activation_id(p, "activationId", "id"))
    source = offer.source
    return protocol_rent.extra_activation_quote(offer.price, source.service_id, source.phone_number, source.country_id)


@action("getExtraActivation", scope="purchase")
def get_extra_activation(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.number(reactivations.reactivate_now(caller, params.activation_id(p, "activationId", "id")))
