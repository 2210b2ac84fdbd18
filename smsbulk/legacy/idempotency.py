"""getNumber's and getNumberV2's orderId, under the same rule as REST's Idempotency-Key
(services/idempotency.py): the same orderId with another request is refused (ORDER_ALREADY_EXISTS,
X-Status-Code 422); the same request again gets getNumber's first answer, byte for byte, with
`Idempotent-Replayed: true`, and getNumberV2's ORDER_ALREADY_EXISTS (X-Status-Code 409), as the
protocol has it (reference §4.3)."""

from __future__ import annotations

from functools import wraps

from flask import after_this_request

from ..auth import Caller
from ..errors import OrderAlreadyExists
from ..services import idempotency
from . import params, protocol
from .dispatch import Handler
from .params import Params


def _fingerprint(p: Params, user_id: int) -> str:
    """The action and its parameters as sent, whatever the method or their order; not the key."""
    asked = sorted((name, value) for name, value in p.values.items() if name != "api_key")
    return idempotency.fingerprint(user_id, "legacy", asked)


def _replayed(response):
    response.headers["Idempotent-Replayed"] = "true"
    return response


def by_order_id(replay: bool):
    """Run a purchase once per orderId; `replay`: a repeat gets the first answer (getNumber), else
    ORDER_ALREADY_EXISTS (getNumberV2)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        def run(p: Params, caller: Caller) -> protocol.Answer:
            key = params.order_id(p)
            if key is None:
                return handler(p, caller)
            earlier = idempotency.begin(caller.user_id, key, _fingerprint(p, caller.user_id))
            if earlier is not None:
                if not replay:
                    raise OrderAlreadyExists()
                after_this_request(_replayed)
                return protocol.Answer(earlier.body, earlier.content_type, earlier.status)
            try:
                answer = handler(p, caller)
            except BaseException:
                idempotency.failed(caller.user_id, key)
                raise
            idempotency.succeeded(caller.user_id, key, idempotency.Answer(answer.status, answer.body, answer.mimetype))
            return answer

        return run

    return decorate
