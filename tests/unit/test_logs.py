"""Log lines: secrets scrubbed from every line, the request or job named, JSON on demand."""

from __future__ import annotations

import json
import logging

import pytest

from smsbulk import logs

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.mark.parametrize(
    "line",
    [
        f"Invalid request from ip=1.2.3.4: 'GET /stubs/handler_api.php?api_key={KEY}&country=Россия HTTP/1.1'",
        f"GET /stubs/handler_api.php?action=getBalance&api%5Fkey={KEY}",
        f"GET /stubs/handler_api.php?api_key%3D{KEY}",
        f"headers: {{'x-api-key': '{KEY}', 'Host': 'x'}}",
        f"X-Api-Key: {KEY}",
        f"Authorization: Bearer {KEY}",
        f'form: {{"api_key": "{KEY}"}} api_key={KEY};',
    ],
)
def test_no_formatted_line_keeps_an_api_key(line):
    assert KEY not in logs.scrub(line)
    assert "[redacted]" in logs.scrub(line)


def test_webhook_secrets_are_scrubbed_too():
    assert logs.scrub("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw rotated") == "secret whsec_[redacted] rotated"


def record(message: str, exc_info=None, **extra) -> logging.LogRecord:
    item = logging.LogRecord("smsbulk.test", logging.WARNING, __file__, 1, message, (), exc_info)
    item.__dict__.update(extra)
    return item


def test_json_lines_carry_the_request_id_and_extra_fields_and_no_key():
    token = logs.context.set({"request_id": "req-1"})
    try:
        try:
            raise ValueError(f"bad api_key={KEY}")
        except ValueError as exc:
            line = logs.JsonFormatter().format(
                record(f"failed api_key={KEY}", (type(exc), exc, exc.__traceback__), activation_id=7)
            )
    finally:
        logs.context.reset(token)
    parsed = json.loads(line)
    assert parsed["request_id"] == "req-1" and parsed["activation_id"] == 7 and parsed["level"] == "WARNING"
    assert parsed["logger"] == "smsbulk.test" and parsed["time"].endswith("+00:00")
    assert KEY not in line and "ValueError" in parsed["exception"]


def test_text_lines_name_the_job_they_are_about():
    token = logs.context.set({"job_id": "purchase-12"})
    try:
        line = logs.TextFormatter("worker ").format(record(f"bought api_key={KEY}"))
    finally:
        logs.context.reset(token)
    assert " worker WARNING smsbulk.test [job=purchase-12] bought api_key=[redacted]" in line
