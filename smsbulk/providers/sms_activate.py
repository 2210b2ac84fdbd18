"""A client of the SMS-Activate "handler_api" protocol (HeroSMS, GrizzlySMS, SMSBower, SMSHub,
DaisySMS, another SMSBulk): a base URL and an API key.

Answers are HTTP 200 with a plain token (`ACCESS_NUMBER:id:phone`, `NO_NUMBERS`) or JSON; some
clones send errors as 4xx with a JSON envelope, read the same way. The key travels in the query
string (the one place every clone accepts it) and requests puts URLs into its exception texts, so
transport failures are re-told with the key scrubbed out.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote as urlquote

import requests
from requests.exceptions import MissingSchema
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProxyError, SSLError

from .base import (
    CANCELED,
    RECEIVED,
    WAITING,
    AmbiguousPurchaseError,
    Message,
    NoNumbersError,
    OutOfFundsError,
    PermanentProviderError,
    PriceTooHighError,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Quote,
    RetryableProviderError,
    Status,
)

HANDLER_PATH = "/stubs/handler_api.php"
STATUS_WORKERS = 8  # parallel getStatus calls for refs missing from the active list

# Answer token (the part before the first ":") -> our error class.
TOKEN_ERRORS: dict[str, type[ProviderError]] = {
    # Nothing to sell us right now: routing tries the next provider.
    "NO_NUMBERS": NoNumbersError,
    "CHANNELS_LIMIT": NoNumbersError,  # too many open activations on our account there
    "SERVICE_UNAVAILABLE_REGION": NoNumbersError,  # GrizzlySMS
    # Our account there is empty: next provider, and the operator must top it up.
    "NO_BALANCE": OutOfFundsError,
    "NO_BALANCE_FORWARD": OutOfFundsError,
    "NO_MONEY": OutOfFundsError,  # DaisySMS
    # Their price is above our maxPrice; the payload is the lowest price they accept.
    "WRONG_MAX_PRICE": PriceTooHighError,
    "MAX_PRICE_EXCEEDED": PriceTooHighError,  # clones
    # Their side is struggling: nothing was bought, try again later.
    "ERROR_SQL": RetryableProviderError,
    "SQL_ERROR": RetryableProviderError,
    "RATE_LIMITED": RetryableProviderError,
    "EARLY_CANCEL_DENIED": RetryableProviderError,  # no cancel in the first ~2 minutes
    # Refused for good: configuration or request is wrong, or the account is blocked.
    "BAD_KEY": PermanentProviderError,
    "NO_KEY": PermanentProviderError,
    "API_KEY_NOT_VALID": PermanentProviderError,  # SMSHub
    "BAD_ACTION": PermanentProviderError,
    "BAD_SERVICE": PermanentProviderError,
    "WRONG_SERVICE": PermanentProviderError,  # SMSBower
    "BAD_COUNTRY": PermanentProviderError,
    "BANNED": PermanentProviderError,  # BANNED:'<until>'
    "ACCOUNT_INACTIVE": PermanentProviderError,
    "WRONG_EXCEPTION_PHONE": PermanentProviderError,
    "BAD_STATUS": PermanentProviderError,
    "NO_ACTIVATION": PermanentProviderError,
    "WRONG_ACTIVATION_ID": PermanentProviderError,
    # We send our activation id as orderId: an earlier attempt already bought a number
    # whose id and phone we never learnt.
    "ORDER_ALREADY_EXISTS": AmbiguousPurchaseError,
}

# A body shaped like a protocol token: nothing can have been bought by it.
TOKEN_SHAPE = re.compile(r"^[A-Z_]+(:|$)")
# sms-activate's answer when an SMS came without an extractable code ("no code").
NO_CODE = "Нет кода"


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


def normalise_base_url(base_url: str) -> str:
    """The handler URL, whether the operator pasted the host or the full endpoint."""
    url = base_url.strip().rstrip("/")
    if url.endswith(HANDLER_PATH):
        url = url[: -len(HANDLER_PATH)]
    return url + HANDLER_PATH


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def make_message(ref: str, code: str | None, text: str | None) -> Message:
    """A message whose id depends only on the activation and the code.

    getActiveActivations gives the text but getStatus only the code, so the code (not
    the text) names the SMS: the same SMS seen by either call is recorded once, and a
    new code after a retry is a new message."""
    code = (code or "").strip() or None
    if code == NO_CODE:
        code = None
    body = (text or "").strip() or code or ""
    if code and len(code) <= 32:
        key = code
    else:
        key = "h" + hashlib.sha256(body.encode()).hexdigest()[:16]
    return Message(id=f"{ref}:{key}", text=body, code=code, received_at=_utcnow())


def _as_list(value: Any) -> list[str]:
    """smsCode / smsText are a string, null, or (in the docs' example) a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)] if str(value) else []


def _active_row_status(row: dict) -> Status:
    ref = str(row.get("activationId"))
    codes, texts = _as_list(row.get("smsCode")), _as_list(row.get("smsText"))
    messages = [make_message(ref, code, texts[i] if i < len(texts) else None) for i, code in enumerate(codes)]
    return Status(RECEIVED if messages else WAITING, messages)


def _status_from_token(ref: str, body: str) -> Status | None:
    """A getStatus answer as a Status; None for an activation the upstream does not know."""
    token, _, payload = body.partition(":")
    if token in ("STATUS_WAIT_CODE", "STATUS_WAIT_RESEND"):
        return Status(WAITING)
    if token in ("STATUS_OK", "STATUS_WAIT_RETRY"):
        # WAIT_RETRY carries the previous code: the activation still has that SMS.
        return Status(RECEIVED, [make_message(ref, payload, None)]) if payload else Status(WAITING)
    if token == "STATUS_CANCEL":
        return Status(CANCELED)
    if token in ("NO_ACTIVATION", "WRONG_ACTIVATION_ID"):
        return None
    raise _token_error(body, purchase=False, label="getStatus")


def _read_purchase(body: str, label: str) -> tuple[str, str, Decimal | None]:
    """(id, phone, cost if stated) from getNumberV2's JSON or `ACCESS_NUMBER:id:phone`."""
    if not body.startswith(("{", "ACCESS_NUMBER:")) or (body.startswith("{") and _extract_token(body)):
        raise _token_error(body, purchase=True, label=label)
    try:
        if body.startswith("{"):
            data = json.loads(body, parse_float=Decimal)
            phone = re.sub(r"\D", "", str(data["phoneNumber"]))
            return str(data["activationId"]), phone, to_decimal(data["activationCost"])
        _, ref, phone = body.split(":")[:3]
        if ref.isdigit() and phone.isdigit():
            return ref, phone, None
    except (ValueError, KeyError, TypeError) as exc:
        raise AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase") from exc
    raise AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase")


def _extract_token(body: str) -> str | None:
    """The error token of a plain answer or of a JSON error envelope."""
    if TOKEN_SHAPE.match(body):
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        for field in ("error", "message", "msg", "title"):
            value = data.get(field)
            if isinstance(value, str) and TOKEN_SHAPE.match(value):
                return value
    return None


def _token_error(body: str, *, purchase: bool, label: str) -> ProviderError:
    """Our error for an answer that is not the success the action expects."""
    token = _extract_token(body)
    if token is None:
        if purchase:  # a garbled answer may hide a purchase
            return AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase")
        return RetryableProviderError(f"{label}: unreadable answer")
    name = token.partition(":")[0]
    if purchase and name.startswith("ACCESS_") and name not in TOKEN_ERRORS:
        return AmbiguousPurchaseError(f"{label}: unexpected success answer to a purchase")
    return TOKEN_ERRORS.get(name, PermanentProviderError)(f"{label}: {token[:80]}")


class SmsActivateProvider(ProviderAdapter):
    kind = "sms-activate"

    def __init__(
        self, base_url: str, api_key: str, timeout: float = 10.0, session: requests.Session | None = None
    ) -> None:
        self.url = normalise_base_url(base_url)
        self._key = api_key
        self.timeout = (timeout, timeout)  # (connect, read): never wait forever on either
        self.session = session or requests.Session()
        self._has_v2: bool | None = None  # does the upstream know getNumberV2? learnt once
        self._has_active_list: bool | None = None  # ... and getActiveActivations?

    def __repr__(self) -> str:  # never show the key
        return f"SmsActivateProvider({self.url!r})"

    # -- transport ---------------------------------------------------------------------

    def _call(self, action: str, purchase: bool = False, **params: Any) -> str:
        """One handler_api call; the answer body, or our error for a failed exchange."""
        query = {"api_key": self._key, "action": action}
        query.update({k: str(v) for k, v in params.items() if v is not None})
        status, body = fetch(
            self.session,
            self.url,
            params=query,
            timeout=self.timeout,
            purchase=purchase,
            secret=self._key,
            label=action,
        )
        body = body.strip()
        if self._key and self._key in body:  # an upstream echoing our key must not spread it
            body = body.replace(self._key, "***")
        if status >= 400:
            # Clones answer errors with 4xx and a JSON envelope: hand the token on as if
            # it had come plainly, so every action reads one shape.
            token = _extract_token(body)
            if token is None:
                raise status_error(status, purchase=purchase, label=action)
            return token
        return body

    def _json(self, action: str, **params: Any) -> Any:
        body = self._call(action, **params)
        if not body.startswith(("{", "[")):
            raise _token_error(body, purchase=False, label=action)
        try:
            return json.loads(body, parse_float=Decimal)
        except ValueError as exc:
            raise RetryableProviderError(f"{action}: unreadable JSON") from exc

    # -- buying ------------------------------------------------------------------------

    def buy(self, service: str, country_id: int, operator: str, max_cost: Decimal | None, reference: str) -> Purchase:
        params = {
            "service": service,
            "country": country_id,
            "operator": operator if operator and operator != "any" else None,
            "maxPrice": format(max_cost, "f") if max_cost is not None else None,
        }
        label, body = "getNumberV2", ""
        if self._has_v2 is not False:  # V2 says what we were charged; learn once if it exists
            body = self._call(label, purchase=True, orderId=reference, **params)
            self._has_v2 = body != "BAD_ACTION"
        if not self._has_v2:
            label = "getNumber"
            body = self._call(label, purchase=True, **params)
        ref, phone, cost = _read_purchase(body, label)
        if cost is None:  # getNumber does not say: the listed price, else the most we allowed
            cost = self._listed_cost(service, country_id)
        if cost is None:
            cost = max_cost if max_cost is not None else Decimal("0")
        return Purchase(ref=ref, phone=phone, cost=cost)

    def _listed_cost(self, service: str, country_id: int) -> Decimal | None:
        """The listed price; None rather than an error, as the number is already ours."""
        try:
            table = self._json("getPrices", service=service, country=country_id)
            return to_decimal(table[str(country_id)][service]["cost"])
        except (ProviderError, LookupError, TypeError, ValueError):
            return None

    # -- status ------------------------------------------------------------------------

    def statuses(self, refs: list[str]) -> dict[str, Status]:
        if not refs:
            return {}
        active = self._active_statuses()
        answer = {ref: active[ref] for ref in refs if ref in active}
        missing = [ref for ref in refs if ref not in active]
        found, errors = self._statuses_one_by_one(missing)
        answer.update(found)
        if errors and not answer:  # nothing learnt and calls failed: the upstream is in trouble
            raise errors[0]
        return answer

    def _active_statuses(self) -> dict[str, Status]:
        """Every open activation in one getActiveActivations call."""
        if self._has_active_list is False:
            return {}
        body = self._call("getActiveActivations")
        if body == "BAD_ACTION":
            self._has_active_list = False
            return {}
        self._has_active_list = True
        if body == "NO_ACTIVATIONS":  # the docs' plain form of "nothing open"
            return {}
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError as exc:
            raise RetryableProviderError("getActiveActivations: unreadable answer") from exc
        if isinstance(data, dict) and data.get("status") == "error":
            if "NO_ACTIVATIONS" in (data.get("error"), data.get("message")):
                return {}
            raise _token_error(body, purchase=False, label="getActiveActivations")
        return {str(row["activationId"]): _active_row_status(row) for row in _active_rows(data)}

    def _statuses_one_by_one(self, refs: list[str]) -> tuple[dict[str, Status], list[ProviderError]]:
        """getStatus for refs the active list does not hold (finished, cancelled, unknown).

        A ref whose call fails is left out, so one bad activation cannot hide the others."""
        if not refs:
            return {}, []
        with ThreadPoolExecutor(max_workers=min(STATUS_WORKERS, len(refs))) as pool:
            results = list(pool.map(self._status_or_error, refs))
        found = {ref: r for ref, r in zip(refs, results, strict=True) if isinstance(r, Status)}
        return found, [r for r in results if isinstance(r, ProviderError)]

    def _status_or_error(self, ref: str) -> Status | ProviderError | None:
        try:
            return _status_from_token(ref, self._call("getStatus", id=ref))
        except ProviderError as exc:
            return exc

    # -- changing an activation --------------------------------------------------------

    def _set_status(self, ref: str, status: int, expected: str, done: Iterable[str] = ()) -> None:
        body = self._call("setStatus", id=ref, status=status)
        if body == expected or body.partition(":")[0] in done:
            return
        raise _token_error(body, purchase=False, label=f"setStatus {status}")

    def cancel(self, ref: str) -> None:
        # Unknown or no longer cancellable (already cancelled, expired, finished): nothing to undo.
        self._set_status(ref, 8, "ACCESS_CANCEL", done=("NO_ACTIVATION", "BAD_STATUS", "WRONG_ACTIVATION_ID"))

    def finish(self, ref: str) -> None:
        self._set_status(ref, 6, "ACCESS_ACTIVATION")

    def request_another(self, ref: str) -> None:
        self._set_status(ref, 3, "ACCESS_RETRY_GET")

    # -- catalogue and account ---------------------------------------------------------

    def prices(self) -> list[Quote]:
        table = self._json("getPrices")
        if not isinstance(table, dict):
            raise RetryableProviderError("getPrices: unexpected shape")
        return [q for country, services in table.items() for q in _quotes(country, services)]

    def balance(self) -> Decimal:
        body = self._call("getBalance")
        token, _, amount = body.partition(":")
        if token != "ACCESS_BALANCE":
            raise _token_error(body, purchase=False, label="getBalance")
        try:
            return to_decimal(amount)
        except ValueError as exc:
            raise RetryableProviderError("getBalance: unreadable amount") from exc


def _active_rows(data: Any) -> list[dict]:
    """The rows of getActiveActivations: `activeActivations` (a list, or an id-keyed
    object on HeroSMS), HeroSMS's `data` list, or a bare list (GrizzlySMS)."""
    rows: Any = data
    if isinstance(data, dict):
        rows = data.get("activeActivations") or data.get("data") or []
    if isinstance(rows, dict):
        rows = list(rows.values())
    return [row for row in rows if isinstance(row, dict) and "activationId" in row]


def _quotes(country: str, services: Any) -> list[Quote]:
    """One country of getPrices; rows that do not parse are skipped, not fatal."""
    if not str(country).isdigit() or not isinstance(services, dict):
        return []
    quotes = []
    for service, row in services.items():
        try:
            cost, stock = to_decimal(row["cost"]), int(row.get("count", row.get("quant", 0)))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        quotes.append(Quote(service=service, country_id=int(country), operator="any", cost=cost, stock=stock))
    return quotes
