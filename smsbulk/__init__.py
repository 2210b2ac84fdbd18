"""SMSBulk: temporary virtual numbers for SMS verification, over REST and the SMS-Activate protocol."""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Callable, Mapping

from flask import Flask, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface

from .config import Config

log = logging.getLogger(__name__)


class SMSBulk(Flask):
    """Flask, remembering which functions are coroutine functions.

    Flask asks it of every hook, view and flask-smorest wrapper on every request (18 times for a
    purchase), through `inspect`; the answer for a given function never changes."""

    _coroutine: dict[types.FunctionType, bool] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        function = getattr(func, "__func__", func)  # a bound method: its function
        if type(function) is not types.FunctionType:
            return super().ensure_sync(func)
        is_coroutine = self._coroutine.get(function)
        if is_coroutine is None:
            is_coroutine = self._coroutine[function] = inspect.iscoroutinefunction(function)
        return self.async_to_sync(func) if is_coroutine else func

    def make_default_options_response(self):
        """OPTIONS names the methods of the route it matched, not of every route the path fits:
        /api/v1/keys/current also fits /api/v1/keys/<key_id>, whose PATCH and DELETE it has not."""
        rule = request.url_rule
        if rule is None:
            return super().make_default_options_response()
        response = self.response_class()
        response.allow.update(
            method for other in self.url_map.iter_rules() if other.rule == rule.rule for method in other.methods or ()
        )
        return response


def create_app(config: Mapping | None = None) -> Flask:
    app = SMSBulk(__name__)
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    app.session_interface = CookieSessions()
    if app.config["FAST_POLLS"]:
        from .polls import StatusPolls

        app.wsgi_app = StatusPolls(app, app.wsgi_app)  # inside ProxyFix: it sees the client's address
    _trust_proxies(app)

    from . import api as rest
    from . import cli, dashboard, health, legacy, operations
    from .db import init_db
    from .services import push  # noqa: F401 - registers the post-commit wake-ups and webhook dispatch

    operations.register(app)  # first: a request is named and checked before anything reads it
    operations.init_sentry(app)
    init_db(app)
    app.register_blueprint(health.bp)
    rest.register(app)
    legacy.register(app)
    dashboard.register(app)
    cli.register(app)
    _register_errors(app)
    _register_docs_assets(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies (Heroku's router is one), the client address is the one
    the outermost of them saw, taken from X-Forwarded-For; without any, the header is ignored:
    a client could write anything in it (and so slip past an IP allowlist)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    proxies = app.config["TRUSTED_PROXIES"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_port=proxies)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only for a request that brings a session cookie.

    API calls never carry one, and building the cookie signer costs a status poll more than the
    rest of Flask's own work on it; a request without the cookie gets a new empty session, as
    it would from Flask."""

    def open_session(self, app: Flask, request):
        # The raw header first: parsing the cookies of every request costs more than this.
        if self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def _register_docs_assets(app: Flask) -> None:
    """Swagger UI's files come from the swagger-ui-bundle package: /api/docs works offline."""
    from swagger_ui_bundle import swagger_ui_path

    @app.route("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(str(swagger_ui_path), filename)


def _register_errors(app: Flask) -> None:
    from .api import render_domain_error
    from .errors import DomainError, InternalError

    app.register_error_handler(DomainError, render_domain_error)
    if app.config.get("TESTING"):
        return  # tests see the traceback of any unexpected exception

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        from werkzeug.exceptions import HTTPException

        if isinstance(error, HTTPException):
            return error
        log.exception("unexpected error on %s %s", request.method, request.path)
        if request.path.startswith("/stubs/"):
            return legacy_internal_error()
        return render_domain_error(InternalError())

    def legacy_internal_error():
        from .legacy import render_legacy_error

        return render_legacy_error(InternalError())
