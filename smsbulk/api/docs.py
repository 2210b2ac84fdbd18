"""Documented error responses: every error a view can answer is in the OpenAPI document."""

from http import HTTPStatus

from .base import Blueprint

_COMMON = (401, 429)
# alt_response only records documentation; any Blueprint instance can lend it.
_doc = Blueprint("error-docs", __name__)


def errors(*statuses: int):
    """Document 401/429 (every call) plus the given statuses, with the one error schema."""

    def decorate(func):
        for status in (*_COMMON, *statuses):
            func = _doc.alt_response(status, response=HTTPStatus(status).name)(func)
        return func

    return decorate
