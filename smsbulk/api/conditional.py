"""Answers that carry an ETag, and the 304 of a conditional GET (activations and rentals)."""

from __future__ import annotations

from flask import Response, request

from ..services.snapshots import Shown

ETAG_HEADER = {
    "ETag": {"description": "Names this answer: give it back as If-None-Match or `since`", "schema": {"type": "string"}}
}


def tag(value: str | None) -> str | None:
    """An entity tag as sent (quoted, maybe weak), bare."""
    text = (value or "").strip().removeprefix("W/").strip('"')
    return text or None


def seen(query: dict) -> str | None:
    """What the client last saw: `since`, else If-None-Match."""
    return tag(query.get("since")) or tag(request.headers.get("If-None-Match"))


def conditional(found: Shown) -> Response:
    """The answer with its ETag, or 304 when the client holds it already (If-None-Match)."""
    if tag(request.headers.get("If-None-Match")) == found.etag:
        response = Response(status=304)
    else:
        response = Response(found.body, mimetype="application/json")
    response.headers["ETag"] = f'"{found.etag}"'
    return response
