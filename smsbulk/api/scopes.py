"""The scope each REST operation needs, declared on the view and checked before it runs.

Every operation declares one (`@scope("read")`, or `@scope(None)` for "any key", such as the
calls that describe the caller itself); an operation that declares none stops the app at start,
so a new view cannot be left open by omission.
"""

from __future__ import annotations

from flask import Flask, request

from .. import auth
from .base import Blueprint

_doc = Blueprint("scope-docs", __name__)  # lends its doc decorators, as docs.errors does
_REQUIRED: dict[tuple[str, str], str | None] = {}  # (endpoint, method) -> scope
_UNSET = object()


def scope(name: str | None):
    """Declare the scope an operation needs; the OpenAPI document says it, with the 403."""

    def decorate(func):
        func._required_scope = name
        if name is not None:
            func = _doc.doc(description=f"Needs a key with the `{name}` scope.")(func)
            func = _doc.alt_response(403, response="FORBIDDEN")(func)
        return func

    return decorate


def _declared(view, method: str):
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view
    return getattr(handler, "_required_scope", _UNSET)


def collect(app: Flask, blueprints) -> None:
    """Read every operation's scope once, at start; refuse to start if one has none."""
    names = {blp.name for blp in blueprints}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".", 1)[0] not in names:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            required = _declared(app.view_functions[rule.endpoint], method)
            if required is _UNSET:
                raise RuntimeError(f"{method} {rule.rule} declares no scope (smsbulk/api/scopes.py)")
            _REQUIRED[(rule.endpoint, method)] = required
            if method == "GET":
                _REQUIRED[(rule.endpoint, "HEAD")] = required


def check(caller: auth.Caller) -> None:
    """Before the view runs (after the key is counted: a refused call counts)."""
    required = _REQUIRED.get((request.endpoint, request.method))
    if required is not None and required not in caller.scopes:
        auth.require_scope(caller, required)
