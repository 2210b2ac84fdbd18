"""The Idempotency-Key header of the REST calls that buy or pay (services/idempotency.py).

The decorator goes outermost on the view, so the stored answer is the response as sent: its
status and its body, byte for byte. A replay carries `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import json
import re
from functools import wraps

from flask import Response, current_app, g, request

from ..errors import BadRequest
from ..services import idempotency
from .base import Blueprint
from .docs import errors

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x20-\x7e]{1,128}")  # printable ASCII; the purchase rows hold 128
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Any string of up to 128 printable characters, new for each distinct request: "
    "repeating the request with the same key within 24 hours gives the first answer again "
    "(status and body, with `Idempotent-Replayed: true`) instead of buying twice; the same key "
    "with a different request answers 422 `idempotency_key_reused`.",
    "schema": {"type": "string", "maxLength": 128},
}


def key_of_request() -> str | None:
    text = request.headers.get(HEADER, "").strip()
    if not text:
        return None
    if not _KEY.fullmatch(text):
        raise BadRequest(f"{HEADER} must be 1 to 128 printable ASCII characters")
    return text


def _fingerprint(user_id: int) -> str:
    """What the request asks: method, path, its JSON body as canonical JSON (raw if it is none)."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        body = raw.hex()
    query = sorted((k, v) for k, v in request.args.items(multi=True) if k != "api_key")
    return idempotency.fingerprint(user_id, request.method, request.path, query, body)


def idempotent(view):
    """Run the view once per Idempotency-Key; answer repeats from the stored first answer."""
    view = errors(400)(Blueprint.doc(parameters=[PARAMETER])(view))  # 400: a malformed key

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = key_of_request()
        if key is None:
            return view(*args, **kwargs)
        user_id = g.caller.user_id
        earlier = idempotency.begin(user_id, key, _fingerprint(user_id))
        if earlier is not None:
            replay = Response(earlier.body, status=earlier.status, content_type=earlier.content_type)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except BaseException:
            idempotency.failed(user_id, key)
            raise
        if 200 <= response.status_code < 300:
            answer = idempotency.Answer(response.status_code, response.get_data(as_text=True), response.content_type)
            idempotency.succeeded(user_id, key, answer)
        else:
            idempotency.failed(user_id, key)
        return response

    return wrapper
