"""Lenient request parameters, the way SMS-Activate clients really send them (reference §1.2, §2).

Query string and form body are merged (PHP `$_REQUEST`: the body wins); names are trimmed
(aiosmsactivate sends "country " with a trailing space); `""`, `None`, `null` mean "not
given" (old Python clients send `forward=None`, the Java library `ref=null`); unknown names
are ignored. The parsers below only check shape and resolve values: every rule lives in the
services, which both API styles share.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from werkzeug.exceptions import HTTPException

from ..errors import (
    ActivationNotFound,
    BadRequest,
    InvalidRentHours,
    RentalNotFound,
    UnknownCountry,
    UnknownRentStatus,
    UnknownService,
    UnknownStatusCode,
    WrongActivationId,
    WrongDate,
    WrongExceptionPhone,
    WrongRentalId,
    for_http_status,
)
from ..models import Country, Service
from ..money import AmountError, parse_amount
from ..services import catalog

ABSENT = frozenset({"", "none", "null", "nil", "undefined"})
TRUE = frozenset({"1", "true", "yes", "on"})
MAX_LEGACY_ID = 2**31 - 1  # the official Java library parses ids with Integer.parseInt
DEFAULT_COUNTRY = "0"  # the protocol's historical default when a client sends no country (§2)
STATUS_CODES = frozenset({1, 3, 6, 8, -1})
# The rental length: `rent_time` in the docs, `time` in the official Python module and LCozzoli,
# `duration` at HeroSMS (reference §4.4); continueRentInfo names it `hours`.
RENT_HOURS_NAMES = ("rent_time", "time", "duration", "hours")
HISTORY_WINDOW = datetime.timedelta(days=30)
_DIGITS = re.compile(r"[0-9]{1,12}")
_PHONE_PREFIX = re.compile(r"[0-9]{4,12}")
_OPERATOR = re.compile(r"[a-z0-9_\-]{1,32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Params:
    """The merged parameters of one request; `get` answers None for anything absent."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    @classmethod
    def from_request(cls, request) -> Params:
        return cls.from_pairs(_pairs(request))

    @classmethod
    def from_pairs(cls, pairs) -> Params:
        values: dict[str, str] = {}
        for name, value in pairs:
            name, value = name.strip(), value.strip()
            # A control character (a NUL cannot even reach PostgreSQL) makes a value as good as absent.
            if name and value.lower() not in ABSENT and not _CONTROL.search(value) and not _CONTROL.search(name):
                values[name] = value
        return cls(values)

    def get(self, *names: str) -> str | None:
        return next((self.values[n] for n in names if n in self.values), None)

    def flag(self, name: str) -> bool:
        """`1`/`true`/`True`/`yes` are true; `0`/`false`/`False`, anything else or absent, false."""
        return (self.get(name) or "").lower() in TRUE

    def number(self, *names: str, default: int, maximum: int) -> int:
        text = self.get(*names)
        if text is None:
            return default
        if not _DIGITS.fullmatch(text):
            raise BadRequest("not a whole number", parameter=names[0])
        return min(int(text), maximum)


def _pairs(request):
    yield from request.args.items(multi=True)
    environ = request.environ
    if environ.get("CONTENT_LENGTH", "") in ("", "0") and "HTTP_TRANSFER_ENCODING" not in environ:
        return  # no body (a poll's GET): werkzeug's form parsing costs more than the rest of this
    try:
        yield from request.form.items(multi=True)
    except HTTPException as exc:  # a body over the size limit, or one werkzeug cannot read
        raise for_http_status(exc.code or 400) from exc


MAX_WAIT_SECONDS = 30


def activation_id(params: Params, *names: str) -> int:
    """A legacy id: digits only (WRONG_ACTIVATION_ID otherwise); beyond 2^31 no activation exists."""
    text = params.get(*(names or ("id",)))
    if text is None or not _DIGITS.fullmatch(text):
        raise WrongActivationId(id=(text or "")[:40])
    number = int(text)
    if number > MAX_LEGACY_ID:
        raise ActivationNotFound(id=text)
    return number


def wait(params: Params) -> int:
    """The `wait` extension (seconds, at most 30): SMS-Activate has no such parameter, so a value
    that is not a number is ignored like any unknown parameter, never an error."""
    text = params.get("wait") or ""
    return min(int(text), MAX_WAIT_SECONDS) if text.isascii() and text.isdigit() and len(text) < 6 else 0


def rental_id(params: Params) -> int:
    """A rental's id: NO_ID_RENT when missing or not a number; beyond 2^31 no rental exists."""
    text = params.get("id")
    if text is None or not _DIGITS.fullmatch(text):
        raise WrongRentalId(id=(text or "")[:40])
    if int(text) > MAX_LEGACY_ID:
        raise RentalNotFound(id=text)
    return int(text)


def rent_hours(params: Params, default: int | None) -> int | None:
    """The rental length in hours under any of its names; INVALID_TIME if it is not a number.
    Its bounds are a rule of the services, checked there."""
    text = params.get(*RENT_HOURS_NAMES)
    if text is None:
        return default
    if not _DIGITS.fullmatch(text):
        raise InvalidRentHours(hours=text[:20])
    return int(text)


def rent_status_code(params: Params) -> int:
    """setRentStatus: 1 finishes, 2 cancels; anything else is INCORECT_STATUS."""
    text = params.get("status")
    if text not in ("1", "2"):
        raise UnknownRentStatus(status=(text or "")[:20])
    return int(text)


def country(params: Params, default: str | None = DEFAULT_COUNTRY) -> Country | None:
    """Numeric id, ISO code or slug, resolved by the catalogue; ISO `US` means 187 there."""
    text = params.get("country", "country_id")
    if text is None:
        return catalog.resolve_country(default) if default is not None else None
    if not text.isascii():  # e.g. "²" passes str.isdigit() but is no id
        raise UnknownCountry(country=text[:80])
    return catalog.resolve_country(text)


def service(params: Params, required: bool = True) -> Service | None:
    text = params.get("service")
    if text is None:
        if required:
            raise UnknownService(service="")
        return None
    return catalog.resolve_service(text)


def operator(params: Params) -> str:
    """The first of a comma-separated list (routing then also accepts "any" offers)."""
    first = (params.get("operator") or "any").split(",")[0].strip().lower()
    return first if _OPERATOR.fullmatch(first) else "any"


def max_price(params: Params) -> Decimal | None:
    text = params.get("maxPrice", "max_price")  # max_price: the DaisySMS spelling
    if text is None:
        return None
    try:
        return parse_amount(text.replace(",", "."))  # the rule REST uses too; "0,5": a European client
    except AmountError as exc:
        raise BadRequest(f"maxPrice {exc}") from exc


def check_phone_exception(params: Params) -> None:
    """phoneException: country code + 3 to 6 digits per prefix (WRONG_EXCEPTION_PHONE otherwise)."""
    text = params.get("phoneException")
    if text is not None and not all(_PHONE_PREFIX.fullmatch(p.strip()) for p in text.split(",")):
        raise WrongExceptionPhone()


def status_code(params: Params) -> int:
    text = params.get("status")
    if text is None or not re.fullmatch(r"-?[0-9]{1,2}", text) or int(text) not in STATUS_CODES:
        raise UnknownStatusCode(status=(text or "")[:20])
    return int(text)


def order_id(params: Params) -> str | None:
    """getNumberV2's orderId, kept apart from REST idempotency keys by a prefix."""
    text = params.get("orderId")
    if text is None:
        return None
    if len(text) > 100:
        raise BadRequest("orderId is too long")
    return f"legacy-order:{text}"


def history_window(params: Params, now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """start/end in unix seconds (UTC); the window is at most 30 days, WRONG_DATE otherwise."""
    try:
        until = _moment(params.get("end"), now)
        since = _moment(params.get("start"), until - HISTORY_WINDOW)
    except (OverflowError, OSError, ValueError) as exc:
        raise WrongDate() from exc
    if since >= until or until - since > HISTORY_WINDOW:
        raise WrongDate()
    return since, until + datetime.timedelta(seconds=1)  # `end` names a whole second: include it


def _moment(text: str | None, default: datetime.datetime) -> datetime.datetime:
    if text is None:
        return default
    if not _DIGITS.fullmatch(text):
        raise ValueError(text)
    return datetime.datetime.fromtimestamp(int(text), datetime.UTC).replace(tzinfo=None)
