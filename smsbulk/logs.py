"""Log lines of every process: readable text by default, one JSON object a line with LOG_FORMAT=json.

Each line names the request (its id, also sent as X-Request-Id) or the job it is about, and no
line carries a secret: every formatted line, tracebacks and Gunicorn's own lines included, has
API keys, bearer tokens and webhook secrets replaced before it is written. Legacy clients put
their key in the URL, and Gunicorn quotes a request line it cannot parse in full.

Stdlib only: Gunicorn's master process imports this before any app module.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import os
import re
import sys

# api_key=... in a URL or form (also percent-encoded), an x-api-key header or an api_key field
# with its value, a bearer token, a whsec_ webhook secret.
SECRET = re.compile(r"(?i)((?:x-)?api(?:_|-|%5f)key[\"']?\s*(?:=|:|%3d)\s*[\"']?|bearer\s+|whsec_)[^\s&'\",;<>\\]+")
REDACTED = r"\1[redacted]"
# What the current line is about: {"request_id": ...} in a request, {"job_id": ...} in a job.
context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("smsbulk_log_context", default=None)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def scrub(text: str) -> str:
    return SECRET.sub(REDACTED, text) if text else text


def json_lines() -> bool:
    return os.environ.get("LOG_FORMAT", "text").strip().lower() == "json"


class TextFormatter(logging.Formatter):
    """`2026-01-31 12:00:00,123 INFO smsbulk.services.activations [req=ab12…] message`."""

    def __init__(self, prefix: str = "") -> None:
        super().__init__(f"%(asctime)s {prefix}%(levelname)s %(name)s%(about)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        about = context.get() or {}
        record.about = "".join(f" [{key.removesuffix('_id')}={value}]" for key, value in about.items())
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One object a line: time, level, logger, message, the request or job id, any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(context.get() or {}),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD and key != "about")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str, ensure_ascii=False))


def formatter(prefix: str = "") -> logging.Formatter:
    return JsonFormatter() if json_lines() else TextFormatter(prefix)


def configure(prefix: str = "", level: str | None = None) -> None:
    """Send every logger's lines to stdout in the chosen format (the web, worker and cron entry points)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter(prefix))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO").upper())
