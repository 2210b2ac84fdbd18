"""/stubs/handler_api.php: the SMS-Activate protocol over the same services as REST."""

from __future__ import annotations

from flask import Flask, Response

from ..errors import DomainError


def render_legacy_error(error: DomainError) -> Response:
    return Response(error.legacy_answer(), status=200, mimetype="text/plain")


def register(app: Flask) -> None:
    pass
