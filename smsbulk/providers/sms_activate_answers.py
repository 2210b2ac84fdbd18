"""What SMS-Activate-protocol upstreams answer, read into our results and errors.

Tokens and JSON shapes differ between sms-activate and its clones (HeroSMS, GrizzlySMS,
SMSBower, SMSHub, DaisySMS, SMSBulk); the tables and readers below absorb the differences.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from decimal import Decimal
from typing import Any

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
    ProviderError,
    Quote,
    RetryableProviderError,
    Status,
)
from .http import to_decimal

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
    # Rentals (§4.4) and reactivation: none in stock, or not for this number now.
    "OUT_OF_STOCK": NoNumbersError,
    "RENEW_ACTIVATION_NOT_AVAILABLE": NoNumbersError,
    "NEW_ACTIVATION_IMPOSSIBLE": NoNumbersError,
    "SIM_OFFLINE": NoNumbersError,
    "SERVER_ERROR": RetryableProviderError,
    # ... and refusals about one rental: unknown, over, or a length it cannot take.
    "NO_ID_RENT": PermanentProviderError,
    "INVALID_PHONE": PermanentProviderError,
    "RENT_DIE": PermanentProviderError,
    "INVALID_TIME": PermanentProviderError,
    "MAX_HOURS_EXCEED": PermanentProviderError,
    "CANT_CANCEL": PermanentProviderError,
    "INCORECT_STATUS": PermanentProviderError,  # sic: the protocol's spelling
    "ALREADY_FINISH": PermanentProviderError,
    "ALREADY_CANCEL": PermanentProviderError,
}

# A body shaped like a protocol token: nothing can have been bought by it.
TOKEN_SHAPE = re.compile(r"^[A-Z_]+(:|$)")
# sms-activate's answer when an SMS came without an extractable code ("no code").
NO_CODE = "Нет кода"


def utcnow() -> datetime.datetime:
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
    return Message(id=f"{ref}:{key}", text=body, code=code, received_at=utcnow())


def as_list(value: Any) -> list[str]:
    """smsCode / smsText are a string, null, or (in the docs' example) a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)] if str(value) else []


def active_row_status(row: dict) -> Status:
    ref = str(row.get("activationId"))
    codes, texts = as_list(row.get("smsCode")), as_list(row.get("smsText"))
    messages = [make_message(ref, code, texts[i] if i < len(texts) else None) for i, code in enumerate(codes)]
    return Status(RECEIVED if messages else WAITING, messages)


def status_from_token(ref: str, body: str) -> Status | None:
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
    raise token_error(body, purchase=False, label="getStatus")


def read_purchase(body: str, label: str) -> tuple[str, str, Decimal | None]:
    """(id, phone, cost if stated) from getNumberV2's JSON or `ACCESS_NUMBER:id:phone`."""
    if not body.startswith(("{", "ACCESS_NUMBER:")) or (body.startswith("{") and extract_token(body)):
        raise token_error(body, purchase=True, label=label)
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


def extract_token(body: str) -> str | None:
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


def token_error(body: str, *, purchase: bool, label: str) -> ProviderError:
    """Our error for an answer that is not the success the action expects."""
    token = extract_token(body)
    if token is None:
        if purchase:  # a garbled answer may hide a purchase
            return AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase")
        return RetryableProviderError(f"{label}: unreadable answer")
    name = token.partition(":")[0]
    if purchase and name.startswith("ACCESS_") and name not in TOKEN_ERRORS:
        return AmbiguousPurchaseError(f"{label}: unexpected success answer to a purchase")
    return TOKEN_ERRORS.get(name, PermanentProviderError)(f"{label}: {token[:80]}")


def active_rows(data: Any) -> list[dict]:
    """The rows of getActiveActivations: `activeActivations` (a list, or an id-keyed
    object on HeroSMS), HeroSMS's `data` list, or a bare list (GrizzlySMS)."""
    rows: Any = data
    if isinstance(data, dict):
        rows = data.get("activeActivations") or data.get("data") or []
    if isinstance(rows, dict):
        rows = list(rows.values())
    return [row for row in rows if isinstance(row, dict) and "activationId" in row]


def country_quotes(country: str, services: Any) -> list[Quote]:
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
