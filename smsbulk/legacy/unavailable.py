"""Voice, forwarding and multi-service numbers: not sold here yet.

Each action answers what the protocol answers when the feature is not available to the
account, so a client takes its usual "nothing to buy" path instead of crashing on an
unknown token.
"""

from __future__ import annotations

from ..auth import Caller
from ..errors import ActivationNotFound, FeatureUnavailable, WrongActivationId
from ..services import activations
from . import params, protocol
from .dispatch import action
from .params import Params

# Buying ones need the `purchase` scope, as getNumber does; the rest `read`.
BUYING = {"getMultiServiceNumber", "getAdditionalService"}

# action -> (token, REST-equivalent status)
OTHER = {
    "getMultiServiceNumber": ("NOT_AVAILABLE", 503),  # no country offers multi-service numbers
    "getAdditionalService": ("WRONG_ADDITIONAL_SERVICE", 422),  # no forwarding parents to add to
}


def _refusal(token: str, status: int):
    def refuse(p: Params, caller: Caller) -> protocol.Answer:
        raise FeatureUnavailable(token, status)

    return refuse


for _name, (_token, _status) in OTHER.items():
    action(_name, scope="purchase" if _name in BUYING else "read")(_refusal(_token, _status))


@action("getIncomingCallStatus", scope="read")
def get_incoming_call_status(p: Params, caller: Caller) -> protocol.Answer:
    """Ours, but an SMS activation: NOT_INCOMING; anything else: INVALID_ACTIVATION_ID."""
    try:
        activations.get_for_owner(caller.user_id, params.activation_id(p, "activationId", "id"))
    except (WrongActivationId, ActivationNotFound) as error:
        raise FeatureUnavailable("INVALID_ACTIVATION_ID", 404) from error
    raise FeatureUnavailable("NOT_INCOMING", 409)


@action("parseCall", scope="read")
def parse_call(p: Params, caller: Caller) -> protocol.Answer:
    """No activation of ours is a voice activation: there is never a call to parse."""
    activations.get_for_owner(caller.user_id, params.activation_id(p))
    raise FeatureUnavailable("NO_CALL", 404)
