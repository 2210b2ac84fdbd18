"""SMSBulk: temporary virtual numbers for SMS verification, over REST and the SMS-Activate protocol."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask, request, send_from_directory

from .config import Config

log = logging.getLogger(__name__)


def create_app(config: Mapping | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config())
    if config:
        app.config.update(config)

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
