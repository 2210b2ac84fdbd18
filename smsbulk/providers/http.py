"""HTTP plumbing shared by the upstream adapters: one GET with timeouts, errors re-told in our
classes without the API key, and money parsing.

Upstreams put the key in the query string (SMS-Activate) or a header (5sim), and requests
puts URLs into its exception texts, so every transport failure is re-told with the key
scrubbed out and raised outside the `except` block: the original exception is neither the
cause nor the context of what reaches the logs.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote as urlquote

import requests
from requests.exceptions import MissingSchema
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProxyError, SSLError

from .base import AmbiguousPurchaseError, PermanentProviderError, ProviderError, RetryableProviderError


def to_decimal(value: Any) -> Decimal:
    """Money from a JSON value parsed with parse_float=Decimal, an int or a string."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {str(value)[:20]!r}") from exc
    if not amount.is_finite():
        raise ValueError("not an amount")
    return amount


def scrub(text: str, secret: str) -> str:
    """The text with the secret (raw or URL-encoded) replaced, cut to a log-friendly size."""
    if secret:
        for form in {secret, urlquote(secret, safe=""), urlquote(secret)}:
            text = text.replace(form, "***")
    return text[:200]


class TransportFailure(Exception):
    """A requests failure, re-told without the API key: kept as `__cause__` for the logs."""


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """Could the upstream have received (and acted on) the request?

    Only a failure to open the connection proves it did not: a refused or timed-out
    connect, a TLS or proxy handshake. A read timeout or a dropped connection may
    come after the upstream bought the number."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and exc.args:
        cause = exc.args[0]
        reason = getattr(cause, "reason", None)
        before_send = (NewConnectionError, ConnectTimeoutError, SSLError, ProxyError)
        if isinstance(cause, MaxRetryError) and isinstance(reason, before_send):
            return False
    return True


def transport_error(
    exc: requests.RequestException, *, purchase: bool, secret: str, label: str
) -> tuple[ProviderError, TransportFailure]:
    """Our error for a failed HTTP exchange, and its scrubbed cause to raise it from."""
    cause = TransportFailure(scrub(f"{type(exc).__name__}: {exc}", secret))
    kind = type(exc).__name__
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, MissingSchema)):
        return PermanentProviderError(f"{label}: the base URL is not usable ({kind})"), cause
    if purchase and _may_have_arrived(exc):
        return AmbiguousPurchaseError(f"{label}: no answer to a purchase ({kind})"), cause
    return RetryableProviderError(f"{label}: upstream unreachable ({kind})"), cause


def fetch(
    session: requests.Session,
    url: str,
    *,
    params: dict,
    timeout: tuple[float, float],
    purchase: bool,
    secret: str,
    label: str,
    headers: dict | None = None,
) -> tuple[int, str]:
    """GET the URL: (HTTP status, body as text), or our error for a failed exchange.

    The error is raised outside the `except`, so the requests exception (whose text holds
    the URL, key included) is neither its cause nor its context."""
    try:
        response = session.get(url, params=params, headers=headers, timeout=timeout)
        # Both protocols are UTF-8 even where the Content-Type names no charset.
        return response.status_code, response.content.decode("utf-8", errors="replace")
    except requests.RequestException as exc:
        failure = transport_error(exc, purchase=purchase, secret=secret, label=label)
    error, cause = failure
    raise error from cause


def status_error(status: int, *, purchase: bool, label: str) -> ProviderError:
    """Our error for an HTTP error status that carried no token we know."""
    if status == 504 and purchase:
        # A gateway timeout means the request reached a proxy whose backend did not
        # answer in time: the purchase may have gone through behind it.
        return AmbiguousPurchaseError(f"{label}: gateway timeout on a purchase")
    if status >= 500 or status == 429:
        return RetryableProviderError(f"{label}: HTTP {status}")
    return PermanentProviderError(f"{label}: HTTP {status}")
