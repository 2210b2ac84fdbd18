"""SMSBulk: temporary virtual numbers for SMS verification, over REST and the SMS-Activate protocol."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, request, send_from_directory
from flask.sessions import SecureCookieSessionInterface

from .config import Config

log = logging.getLogger(__name__)


def create_app(config: Mapping | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    app.session_interface = CookieSessions()

    from . import api as rest
    from . import cli, legacy
    from .db import init_db

    init_db(app)
    rest.register(app)
    legacy.register(app)
    cli.register(app)
    _register_errors(app)
    _register_docs_assets(app)
    return app


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, opened only for a request that brings a session cookie.

    API calls never carry one, and building the cookie signer costs a status poll more than the
    rest of Flask's own work on it; a request without the cookie gets a new empty session, as
    it would from Flask."""

    def open_session(self, app: Flask, request):
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
        log.exception("unexpected error on %s", request.path)
        if request.path.startswith("/stubs/"):
            return legacy_internal_error()
        return render_domain_error(InternalError())

    def legacy_internal_error():
        from .legacy import render_legacy_error

        return render_legacy_error(InternalError())
