"""The REST API under /api/v1: key auth and quota on every call, one JSON error shape."""

from __future__ import annotations

from flask import Flask, g, jsonify, request

from .. import auth, quota
from ..errors import DomainError
from ..extensions import get_redis
from ..models import User
from . import account, activations, catalog, events, keys, rentals, scopes, wallet, webhooks
from .base import Api

BLUEPRINTS = (
    wallet.blp,
    activations.blp,
    rentals.blp,
    catalog.blp,
    keys.blp,
    account.blp,
    events.blp,
    webhooks.blp,
)


def key_from_headers(environ: dict) -> str | None:
    """x-api-key (recommended) or Authorization: Bearer."""
    header = environ.get("HTTP_X_API_KEY")
    if header:
        return header
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:]
    return None


def key_from_request() -> str | None:
    """x-api-key (recommended), Authorization: Bearer, or the api_key query parameter."""
    return key_from_headers(request.environ) or request.args.get("api_key")


def authenticate_and_count() -> None:
    """Every call: a usable key (known, active, from an allowed address), counted against its
    quota, holding the scope the operation needs (smsbulk/api/scopes.py)."""
    connection = get_redis()
    caller = auth.authenticate_request(key_from_request(), connection)
    g.caller = caller
    g.usage = quota.count_request(connection, caller, request.environ)
    g.user = User(id=caller.user_id)  # a reference for queries, loaded lazily if ever needed
    scopes.check(caller)


def rate_limit_headers(response):
    usage = getattr(g, "usage", None)
    if usage is not None:
        response.headers["X-RateLimit-Limit"] = str(usage.limit)
        response.headers["X-RateLimit-Remaining"] = str(usage.remaining)
        response.headers["X-RateLimit-Reset"] = usage.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return response


def render_domain_error(error: DomainError):
    response = jsonify(error.to_dict())
    response.status_code = error.http_status
    usage = getattr(error, "usage_info", None)
    if usage is not None:
        g.usage = usage
        response.headers["Retry-After"] = str(usage.retry_after)
    return response


for _blp in BLUEPRINTS:  # once, at import: blueprints outlive any one app
    _blp.before_request(authenticate_and_count)
    _blp.after_request(rate_limit_headers)


def register(app: Flask) -> Api:
    api = Api(app)
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
    scopes.collect(app, BLUEPRINTS)
    api.spec.components.security_scheme("apiKey", {"type": "apiKey", "in": "header", "name": "x-api-key"})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("apiKeyQuery", {"type": "apiKey", "in": "query", "name": "api_key"})
    _one_country(api.spec.components.schemas)
    return api


def _one_country(schemas: dict) -> None:
    """A purchase or a rental names its country once, by countryIso or by countryId (their schemas'
    one_country rule): the document says so too - neither both nor none - so generated requests
    send one. (Said with `not`: openapi-python-client turns an object with a oneOf or anyOf into
    an untyped body, and leaves a `not` to the server.)"""
    either = [{"required": ["countryIso"]}, {"required": ["countryId"]}]
    both_or_none = {"anyOf": [{"required": ["countryIso", "countryId"]}, {"not": {"anyOf": either}}]}
    for name in ("ActivationCreate", "RentalCreate"):
        schemas[name]["not"] = both_or_none
