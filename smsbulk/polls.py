"""Status polls answered before Flask: most requests are polls, and the answer is kept ready.

A bot asks for its activation's status every few seconds (legacy getStatus or getStatusV2, REST
GET /api/v1/activations/{id}), and the answer is in the activation's snapshot
(services/snapshots.py). Flask's request and app contexts, routing, hooks, and response object
cost a poll more than everything else it does, so this WSGI middleware answers the plain case
itself, with what those hooks would do: the same key check (from this process's key cache), the
same scope, the same quota count, the same answer and headers, the same metrics and access line.

Anything else goes to Flask untouched, decided before the request is counted: a method other
than GET, a cookie, a body, `wait` (legacy), any query parameter (REST: `wait`, `since`, the key),
a key this process has not cached or that is refused, a missing scope, an activation whose
snapshot is not in Redis (Flask reads the database and fills it), or one of another user (Flask
answers "not found"), CORS origins configured. The one decision after counting, a quota refusal, is handed to
Flask in the environ (quota.REFUSED), which answers it without counting the request again.
tests/api/test_fast_polls.py checks the answers against Flask's own, header by header.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import parse_qsl

import redis

from . import auth, metrics, quota
from .api import key_from_headers
from .api.conditional import tag
from .errors import DomainError, QuotaExceeded
from .extensions import get_redis
from .legacy import key_from_request, protocol
from .legacy import params as legacy_params
from .legacy.params import Params
from .operations import oversized, request_id_for
from .services import snapshots, waits

log = logging.getLogger(__name__)

LEGACY_PATH = "/stubs/handler_api.php"
REST_PREFIX = "/api/v1/activations/"
REST_ROUTE = REST_PREFIX + "<activation_id>"
LEGACY_ACTIONS = {"getStatus": "g", "getStatusV2": "h"}
_REST_ID = re.compile(r"act_[0-9a-f]{1,28}|[0-9]{1,10}")
_COMMON = [("X-Content-Type-Options", "nosniff")]
_PRIVATE = [("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store")]


class StatusPolls:
    """WSGI middleware in front of the Flask app (inside any ProxyFix, so REMOTE_ADDR is the client's)."""

    def __init__(self, app, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response):
        config = self.app.config
        if environ.get("REQUEST_METHOD") == "GET" and config["FAST_POLLS"] and not config["CORS_ORIGINS"]:
            path = environ.get("PATH_INFO", "")
            if path == LEGACY_PATH or path.startswith(REST_PREFIX):
                started = time.perf_counter()
                try:
                    with self.app.app_context():
                        answered = self.answer(environ, path, started)
                except (redis.RedisError, DomainError) as exc:
                    log.debug("status poll left to the app: %s", type(exc).__name__)
                    answered = None
                if answered is not None:
                    status, headers, body = answered
                    start_response(status, headers)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, environ: dict, path: str, started: float):
        if not _plain(environ) or oversized(environ, self.app.config) is not None:
            return None
        if path == LEGACY_PATH:
            return self.legacy(environ, started)
        return self.rest(environ, path[len(REST_PREFIX) :], started)

    def legacy(self, environ: dict, started: float):
        params = Params.from_pairs(parse_qsl(_query(environ), keep_blank_values=True))
        action = params.get("action")
        field = LEGACY_ACTIONS.get(action or "")
        if field is None or legacy_params.wait(params):
            return None
        text = params.get("id") or ""
        if not (text.isascii() and text.isdigit() and len(text) <= 9):
            return None
        connection = get_redis()
        found = self._snapshot(environ, connection, key_from_request(params, environ), int(text))
        if found is None:
            return None
        caller, fields = found
        self._count(environ, connection, caller)
        mimetype = protocol.JSON if field == "h" and fields[6] == b"1" else protocol.TEXT
        body = fields[5] if field == "h" else fields[4]
        headers = [
            ("Content-Type", mimetype),
            ("Content-Length", str(len(body))),
            ("X-Status-Code", "200"),
            *_COMMON,
            ("X-Request-Id", _request_id(environ)),
            *_PRIVATE,
        ]
        _observe(environ, LEGACY_PATH, action, 200, started)
        return "200 OK", headers, body

    def rest(self, environ: dict, ident: str, started: float):
        if environ.get("QUERY_STRING") or not _REST_ID.fullmatch(ident):
            return None
        number = int(ident) if ident.isdigit() else snapshots.alias(ident)
        if number is None:
            return None  # the app reads it once and learns the public id
        connection = get_redis()
        found = self._snapshot(environ, connection, key_from_headers(environ), number)
        if found is None:
            return None
        caller, fields = found
        usage = self._count(environ, connection, caller)
        etag = fields[2].decode()
        limits = [
            ("X-RateLimit-Limit", str(usage.limit)),
            ("X-RateLimit-Remaining", str(usage.remaining)),
            ("X-RateLimit-Reset", usage.reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ]
        tail = [("X-Request-Id", _request_id(environ)), *_COMMON, *_PRIVATE]
        if tag(environ.get("HTTP_IF_NONE_MATCH")) == etag:
            _observe(environ, REST_ROUTE, "", 304, started)
            return "304 NOT MODIFIED", [("ETag", f'"{etag}"'), *limits, *tail], b""
        body = fields[3]
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{etag}"'),
            *limits,
            *tail,
        ]
        _observe(environ, REST_ROUTE, "", 200, started)
        return "200 OK", headers, body

    def _snapshot(self, environ: dict, connection, raw_key: str | None, activation_id: int):
        """The caller and the snapshot's fields (snapshots.FIELDS), if both are at hand."""
        config = self.app.config
        address = environ.get("REMOTE_ADDR")
        caller = auth.cached_caller(raw_key, address, connection, config["KEY_CHANGES_CHECK_SECONDS"])
        if caller is None or "read" not in caller.scopes:
            return None
        fields = snapshots.copies.get(activation_id)
        if fields is None:
            waits.ensure_listening()  # copies are kept only while the event channel is followed
            generation = snapshots.copies.generation
            fields = connection.hmget(snapshots.KEY.format(activation_id), snapshots.FIELDS)
            if fields[1] is None:
                return None
            snapshots.copies.keep(activation_id, fields, generation, config["LOCAL_SNAPSHOT_SECONDS"])
        if int(fields[0]) != caller.user_id:
            return None
        return caller, fields

    def _count(self, environ: dict, connection, caller):
        try:
            return quota.count_request(connection, caller)
        except QuotaExceeded as refused:
            environ[quota.REFUSED] = refused  # counted: the app answers it without counting again
            raise


def _plain(environ: dict) -> bool:
    """No cookie (the dashboard's session), no body."""
    if "HTTP_COOKIE" in environ or "HTTP_TRANSFER_ENCODING" in environ:
        return False
    return environ.get("CONTENT_LENGTH", "") in ("", "0")


def _query(environ: dict) -> str:
    return environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")


def _request_id(environ: dict) -> str:
    request_id = environ["smsbulk.request_id"] = request_id_for(environ)
    return request_id


def _observe(environ: dict, route: str, action: str, status: int, started: float) -> None:
    environ["smsbulk.route"] = route
    environ["smsbulk.action"] = action
    metrics.observe_request(route, action, "GET", status, time.perf_counter() - started)
