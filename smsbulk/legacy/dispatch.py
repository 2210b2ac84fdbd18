"""The one dispatcher on `action`: each action is a small function parse -> one service call -> render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth import Caller
from ..errors import DomainError, UnknownAction
from . import protocol
from .params import Params

Handler = Callable[[Params, Caller], protocol.Answer]


@dataclass(frozen=True)
class Action:
    handler: Handler
    error_shape: str = protocol.PLAIN


ACTIONS: dict[str, Action] = {}


def action(*names: str, error_shape: str = protocol.PLAIN) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            ACTIONS[name] = Action(handler, error_shape)
        return handler

    return register


def handle(params: Params, caller: Caller) -> protocol.Answer:
    name = params.get("action") or ""
    found = ACTIONS.get(name)
    if found is None:
        return protocol.error(UnknownAction(action=name[:40]))
    try:
        return found.handler(params, caller)
    except DomainError as error:
        return protocol.error(error, found.error_shape)
