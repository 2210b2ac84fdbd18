"""Operations as app-level hooks, not code in views (ARCHITECTURE.md, "Operations are middleware").

Before any view: a request id; the request's size (URL, headers, body) and its path checked, so
an oversized or hostile request is refused in its API's style before it is read; CORS preflights
answered without a key. After: X-Request-Id, security headers, CORS headers, the request's
metrics, and what the access line says about it (smsbulk.serving).
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

from . import logs, metrics
from .errors import HeadersTooLarge, NotFound, PayloadTooLarge, UriTooLong

LEGACY_PATH = "/stubs/handler_api.php"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
# Key-bearing answers must never be kept by a browser or a shared cache.
_PRIVATE_PREFIXES = ("/api/v1/", "/stubs/", "/metrics")
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_REQUEST_HEADERS = "x-api-key, Authorization, Content-Type, Idempotency-Key, X-Request-Id"
CORS_EXPOSED = (
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-Id, X-Pagination, "
    "Idempotent-Replayed, X-Status-Code"
)
CSP = (
    "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def register(app: Flask) -> None:
    app.before_request(begin)
    app.after_request(finish)
    app.teardown_request(forget)


def begin():
    """Name the request, refuse what is too large or unreadable, answer preflights."""
    environ = request.environ
    g.request_id = request_id_for(environ)
    g.started = time.perf_counter()
    g.log_token = logs.context.set({"request_id": g.request_id})
    environ["smsbulk.request_id"] = g.request_id
    _check_size(environ)
    if _CONTROL.search(request.path):
        raise NotFound()  # no resource has a control character in its name (a NUL would reach the database)
    if request.method == "OPTIONS":
        return _options()
    return None


def request_id_for(environ: dict) -> str:
    """The client's X-Request-Id if it is a sane one, else a new id."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _check_size(environ: dict) -> None:
    refusal = oversized(environ, current_app.config)
    if refusal is not None:
        raise refusal
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit and (request.content_length or 0) > limit:
        raise PayloadTooLarge(limit=limit)


def oversized(environ: dict, config) -> UriTooLong | HeadersTooLarge | None:
    """The refusal of a URL or headers over the app's limits, if they are."""
    target = environ.get("RAW_URI") or (environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
    if len(target) > config["MAX_URL_LENGTH"]:
        return UriTooLong(limit=config["MAX_URL_LENGTH"])
    header_bytes = sum(len(name) + len(value) for name, value in environ.items() if name.startswith("HTTP_"))
    if header_bytes > config["MAX_HEADER_BYTES"]:
        return HeadersTooLarge(limit=config["MAX_HEADER_BYTES"])
    return None


def _options() -> Response:
    """Any OPTIONS request, CORS preflights included, is answered here, without a key."""
    response = current_app.make_default_options_response()
    response.status_code = 204
    origin = _allowed_origin()
    if origin and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    allowed = current_app.config["CORS_ORIGINS"]
    if not origin or not allowed:
        return None
    return origin if "*" in allowed or origin in allowed else None


def finish(response: Response) -> Response:
    headers = response.headers
    request_id = g.get("request_id")
    if request_id:
        headers["X-Request-Id"] = request_id
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith(_PRIVATE_PREFIXES):
        headers["Cache-Control"] = "no-store"
    elif response.mimetype == "text/html" and not response.direct_passthrough:
        headers["Content-Security-Policy"] = CSP.format(scripts=_script_hashes(response.get_data()))
        headers["X-Frame-Options"] = "DENY"
    if current_app.config["CORS_ORIGINS"]:
        headers.add("Vary", "Origin")
        origin = _allowed_origin()
        if origin:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    _account(response)
    return response


def _script_hashes(html: bytes) -> str:
    """The page's own inline scripts (Swagger UI's start-up) are allowed by their hash, nothing else."""
    digests = (base64.b64encode(hashlib.sha256(script).digest()).decode() for script in _INLINE_SCRIPT.findall(html))
    return "".join(f" 'sha256-{digest}'" for digest in digests)


def _account(response: Response) -> None:
    """The request's metrics, and the route and action for the access line."""
    rule = request.url_rule
    route = rule.rule if rule is not None else "unmatched"
    action = ""
    if request.path == LEGACY_PATH:
        params = g.get("legacy_params")
        action = legacy_action(params.get("action") if params is not None else None)
    request.environ["smsbulk.route"] = route
    request.environ["smsbulk.action"] = action
    started = g.get("started")
    if started is not None:
        metrics.observe_request(route, action, request.method, response.status_code, time.perf_counter() - started)


def legacy_action(name: str | None) -> str:
    """A known action's name, else "unknown": a metric label takes no value a client makes up."""
    from .legacy.dispatch import ACTIONS

    return name if name in ACTIONS else "unknown"


def init_sentry(app: Flask) -> None:
    """Unexpected errors of this process go to Sentry when SENTRY_DSN is set, without secrets."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[FlaskIntegration(), RqIntegration()],
        send_default_pii=False,
        before_send=_scrub_event,
    )


def _scrub_event(event: dict, hint: dict) -> dict:
    """Legacy keys travel in the query string, which Sentry keeps: every string is scrubbed."""
    return _scrubbed(event)


_SECRET_NAMES = {"x-api-key", "x_api_key", "authorization", "api_key", "cookie"}


def _scrubbed(value):
    if isinstance(value, str):
        return logs.scrub(value)
    if isinstance(value, dict):
        return {
            key: "[redacted]" if str(key).lower() in _SECRET_NAMES else _scrubbed(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value


def forget(exc: BaseException | None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        logs.context.reset(token)
