"""The one dispatcher on `action`: each action is a small function parse -> one service call -> render.

Each action names the scope a key needs for it (`read` or `purchase`); a key without it gets the
scope refusal in the action's error shape (BAD_KEY: docs/migration.md says why)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..auth import Caller, require_scope
from ..errors import DomainError, UnknownAction
from . import protocol
from .params import Params

Handler = Callable[[Params, Caller], protocol.Answer]


@dataclass(frozen=True)
class Action:
    handler: Handler
    error_shape: str
    scope: str


ACTIONS: dict[str, Action] = {}


def action(*names: str, scope: str, error_shape: str = protocol.PLAIN) -> Callable[[Handler], Handler]:
    """Register a handler for actions; `scope` is the one the key needs (no default: each says)."""

    def register(handler: Handler) -> Handler:
        for name in names:
            ACTIONS[name] = Action(handler, error_shape, scope)
        return handler

    return register


def handle(params: Params, caller: Caller) -> protocol.Answer:
    name = params.get("action") or ""
    found = ACTIONS.get(name)
    if found is None:
        return protocol.error(UnknownAction(action=name[:40]))
    try:
        require_scope(caller, found.scope)
        return found.handler(params, caller)
    except DomainError as error:
        return protocol.error(error, found.error_shape)
