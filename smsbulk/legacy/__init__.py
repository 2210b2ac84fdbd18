"""/stubs/handler_api.php: the SMS-Activate protocol over the same services as REST.

Transport as profiled in reference §9: HTTP 200 for every answer (clients break on any other
status, §1.4), with the REST API's status for the same outcome in `X-Status-Code` for tooling;
GET and POST; query and form body merged. Plain flask Blueprint: not part of the OpenAPI.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, g, request

from .. import auth, quota
from ..errors import DomainError, for_http_status
from ..extensions import get_redis
from . import catalog_views, protocol, rent_views, unavailable, views  # noqa: F401 - importing registers their actions
from .dispatch import handle
from .params import Params

PATH = "/stubs/handler_api.php"

bp = Blueprint("legacy", __name__)
docs_bp = Blueprint("legacy_docs", __name__)


def render(answer: protocol.Answer, headers: dict | None = None) -> Response:
    response = Response(answer.body, status=200, content_type=answer.mimetype)
    response.headers["X-Status-Code"] = str(answer.status)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.update(headers or {})
    return response


def render_legacy_error(error: DomainError) -> Response:
    usage = getattr(error, "usage_info", None)
    headers = {"Retry-After": str(usage.retry_after)} if usage is not None else None
    return render(protocol.error(error), headers)


def render_http_error(error) -> Response:
    """An HTTP error raised before or around an action (a body too large, a URL too long) as the
    protocol's token, with HTTP 200 like every answer here."""
    return render_legacy_error(for_http_status(error.code or 400, error.description))


def key_from_request(params: Params, environ: dict) -> str | None:
    """The protocol's api_key parameter; the x-api-key and Bearer headers of REST also work."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    bearer = authorization[7:] if authorization[:7].lower() == "bearer " else None
    return params.get("api_key") or environ.get("HTTP_X_API_KEY") or bearer


@bp.before_request
def authenticate_and_count() -> None:
    """The same key check and daily quota as REST: every authenticated call counts."""
    g.legacy_params = Params.from_request(request)
    connection = get_redis()
    g.caller = auth.authenticate_request(key_from_request(g.legacy_params, request.environ), connection)
    g.usage = quota.count_request(connection, g.caller, request.environ)


# PHP's $_REQUEST does not care about the method: neither do the clients, so none gets a 405.
@bp.route(PATH, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def handler_api() -> Response:
    return render(handle(g.legacy_params, g.caller))


bp.register_error_handler(DomainError, render_legacy_error)


@docs_bp.route("/docs/migration")
@docs_bp.route("/docs/migration.md")
def migration_guide() -> Response:
    """docs/migration.md of the repository, as served text."""
    path = Path(current_app.root_path).parent / "docs" / "migration.md"
    if not path.is_file():
        abort(404)
    return Response(path.read_text(encoding="utf-8"), mimetype="text/markdown")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
