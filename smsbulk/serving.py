"""Gunicorn's side of the web process: the worker classes, their answer to a request they cannot
parse, and the log lines (gunicorn.conf.py names them; README "Performance" says why gevent).

- GeventWorker: one greenlet per connection, so a slow or idle client costs a greenlet, not a
  thread: partial headers (held at most `keepalive` seconds), idle kept-alive connections and
  the long waits of later features cannot starve the requests of other clients. The standard
  library is patched by Gunicorn in each worker before the app is imported, and the PostgreSQL
  driver is made cooperative here (psycogreen); SQLite calls stay blocking, which is fine: no
  transaction waits on the network while it holds SQLite's write lock.
- ThreadWorker: the previous model (gthread), kept to measure against (WEB_WORKER_CLASS=gthread).
- Both close the database connections a burst left idle, and trim the heap (ReleasesIdle).

A request Gunicorn refuses before the app sees it (a raw UTF-8 request line, a URL or header
over Gunicorn's own limit) is answered in the style of the API it was meant for, not with
Gunicorn's HTML page, and the warning about it is logged without the API key it may quote.

Gunicorn's master process imports this module: it imports no app module that keeps state per
thread (peewee, redis, psycopg2); each worker imports those after gevent's patching.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import logging
import os
import sys
import threading
import time

from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.http import errors as http_errors
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker

from . import logs
from .config import database_url

log = logging.getLogger(__name__)

LEGACY_PATH = "/stubs/handler_api.php"
# Gunicorn's refusals by status; any other client error is a 400.
_STATUS = (
    (http_errors.LimitRequestLine, 414),
    (http_errors.LimitRequestHeaders, 431),
    (http_errors.UnsupportedTransferCoding, 501),
    (http_errors.ExpectationFailed, 417),
    (http_errors.ForbiddenProxyRequest, 403),
)
_NOT_THE_CLIENTS = (
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
    http_errors.ConfigurationProblem,
)
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}


class StyledErrors:
    """handle_error() of a Gunicorn worker, answering in the API's style."""

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, http_errors.ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            return super().handle_error(req, client, addr, exc)  # the app's failure: Gunicorn's 500
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        req = req or getattr(exc, "req", None)
        where = getattr(req, "path", None) or str(exc)  # an unparsable request line is quoted in exc
        self.log.warning("Invalid request from ip=%s: %s: %s", (addr or ("-",))[0], type(exc).__name__, exc)
        try:
            client.sendall(refusal(status, legacy=LEGACY_PATH in where))
        except OSError:
            self.log.debug("Failed to send the refusal.")


def refusal(status: int, legacy: bool) -> bytes:
    """A whole HTTP response refusing a request Gunicorn could not parse: JSON on REST, a token
    with HTTP 200 on the legacy endpoint (whose clients break on any other status)."""
    from .errors import for_http_status

    error = for_http_status(status)
    if legacy:
        head, body, kind = "200 OK", error.legacy_answer().encode(), "text/plain; charset=utf-8"
    else:
        head, body, kind = (
            f"{status} {_REASONS.get(status, 'Bad Request')}",
            json.dumps(error.to_dict()).encode(),
            "application/json",
        )
    headers = [
        f"HTTP/1.1 {head}",
        "Connection: close",
        f"Content-Type: {kind}",
        f"Content-Length: {len(body)}",
        f"X-Status-Code: {status}" if legacy else "",
        "X-Content-Type-Options: nosniff",
        "Cache-Control: no-store",
    ]
    return ("\r\n".join(line for line in headers if line) + "\r\n\r\n").encode() + body


def _on_sqlite() -> bool:
    return database_url().startswith("sqlite")


def _keep_postgresql_driver_out() -> None:
    """Peewee imports psycopg2 whenever it is installed: 6 MB of every web process on SQLite,
    which never uses it. The import is refused there, and Peewee leaves the driver out."""
    sys.modules.setdefault("psycopg2", None)


class ReleasesIdle:
    """A worker that gives back what a burst left idle, every WEB_IDLE_RELEASE_SECONDS (0: never).

    With 2,000 long-poll waiters a process grew from 60 to 120 MB, and stayed above 105 MB once
    they were answered. The waiters' first reads had opened about 45 SQLite connections, which
    stayed idle in the pool for good, each keeping its schema, statements and pages; and memory
    freed in the heap stayed there, in pieces too scattered for glibc to trim on its own. Closed
    and trimmed every 30 s, the process held 90-94 MB with the waits held (bench (g)). Reopening
    a connection costs about a millisecond."""

    def run(self):
        every = float(os.environ.get("WEB_IDLE_RELEASE_SECONDS", "30"))
        if every > 0:
            threading.Thread(target=_release_every, args=(every,), name="release-idle", daemon=True).start()
        super().run()


def _release_every(seconds: float) -> None:
    while True:
        time.sleep(seconds)
        try:
            release_idle()
        except Exception:  # noqa: BLE001 - logged; the next round tries again
            log.exception("releasing idle connections failed")


def release_idle() -> None:
    """Close the database pool's idle connections (in-use ones stay), then hand the heap's free
    pages back to the system (glibc's malloc_trim; nothing on another C library)."""
    from .extensions import db  # in the worker, after gevent's patching (see the module's text)

    if db.obj is not None:
        db.obj.close_idle()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None; looked up once (find_library runs ldconfig)."""
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


class GeventWorker(StyledErrors, ReleasesIdle, _GeventWorker):
    def patch(self):
        super().patch()
        if _on_sqlite():
            _keep_postgresql_driver_out()
        else:
            from psycogreen.gevent import patch_psycopg

            patch_psycopg()  # PostgreSQL queries yield to other greenlets instead of blocking the process
        _require_greenlet_local_connections()


def _require_greenlet_local_connections() -> None:
    """Peewee keeps a connection per thread in a class made at import: imported before gevent's
    patching, every greenlet of the process would share one connection (and its transaction)."""
    import peewee
    from gevent.local import local

    if not issubclass(peewee._ConnectionLocal, local):
        raise RuntimeError("peewee was imported before gevent patched threading: connections would be shared")


class ThreadWorker(StyledErrors, ReleasesIdle, _ThreadWorker):
    def init_process(self):
        if _on_sqlite():
            _keep_postgresql_driver_out()
        super().init_process()


class Logger(GunicornLogger):
    """Gunicorn's logs in the service's format (text or JSON, secrets scrubbed), the app's own
    lines on the same output, and an access line that names the request id and legacy action
    and never the query string (where legacy keys travel)."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(logs.formatter("web "))
        for handler in self.access_log.handlers:
            handler.setFormatter(
                logs.JsonFormatter() if logs.json_lines() else _ScrubbedMessage("%(asctime)s web access %(message)s")
            )
        logs.configure("web ")  # the app's loggers (smsbulk.*): INFO lines such as "purchase withdrawn"

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        fields = {
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": environ.get("PATH_INFO", "-"),
            "action": environ.get("smsbulk.action") or "",
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None) or 0,
            "ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": environ.get("smsbulk.request_id") or "-",
        }
        line = '{remote} "{method} {path}"{action} {status} {bytes} {ms}ms req={request_id}'.format(
            **{**fields, "action": f" {fields['action']}" if fields["action"] else ""}
        )
        self.access_log.info(line, extra=fields)


class _ScrubbedMessage(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return logs.scrub(super().format(record))
