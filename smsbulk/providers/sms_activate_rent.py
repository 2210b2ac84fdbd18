"""Rentals and reactivation over the SMS-Activate protocol (reference §4.4 and getExtraActivation).

Rent answers are JSON; their errors are `{"status":"error","message":TOKEN}` (some clones say
`error`), while BAD_KEY and BAD_ACTION stay plain. An upstream that answers BAD_ACTION to a rent
or extra-activation action does not offer it: that is UnsupportedError, not a failure to retry.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from .base import (
    ACTIVE,
    CANCELED,
    FINISHED,
    REVOKED,
    AmbiguousPurchaseError,
    Message,
    PriceTooHighError,
    ProviderError,
    Purchase,
    Rented,
    RentQuote,
    RentStatus,
    RetryableProviderError,
    UnsupportedError,
)
from .http import to_decimal
from .sms_activate_answers import extract_token, read_purchase, token_error, utcnow

RENT_WORKERS = 8  # parallel calls: one per country when quoting, one per rental when polling
SMS_PAGE = 100  # getRentStatus pages its SMS (10 by default): ask for enough at once
# getRentStatus "errors" that are states of the rental, not failures (§4.4).
RENT_STATES = {"STATUS_FINISH": FINISHED, "STATUS_CANCEL": CANCELED, "STATUS_REVOKE": REVOKED}
UNKNOWN_RENTAL = ("NO_ID_RENT", "INVALID_PHONE")
# setRentStatus answers meaning the rental is over already: nothing left to finish or cancel.
ALREADY_OVER = ("ALREADY_FINISH", "ALREADY_CANCEL")
CODE = re.compile(r"(?<![0-9])([0-9]{3}-[0-9]{3}|[0-9]{4,8})(?![0-9])")


def code_in(text: str) -> str | None:
    """The verification code in an SMS text: the first run of 4 to 8 digits (or 123-456)."""
    found = CODE.search(text or "")
    return found.group(1).replace("-", "") if found else None


def rent_message(ref: str, row: dict) -> Message:
    """One SMS of getRentStatus. The answer carries no message id: sender, time and text name it."""
    sender, text, stamp = str(row.get("phoneFrom") or ""), str(row.get("text") or ""), str(row.get("date") or "")
    digest = hashlib.sha256(f"{sender}|{stamp}|{text}".encode()).hexdigest()[:16]
    service = str(row.get("service") or "") or None
    return Message(f"{ref}:{digest}", text, code_in(text), utcnow(), sender=sender or None, service=service)


def rows_of(values: Any) -> list[dict]:
    """`values` is an object keyed "0", "1", … (the Java library reads a map) or, on some clones, a list."""
    if isinstance(values, dict):
        values = [values[k] for k in sorted(values, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return [row for row in values or [] if isinstance(row, dict)]


def rented_of(data: dict, label: str) -> tuple[str, str]:
    """(id, phone) of getRentNumber's or continueRentNumber's `phone` object."""
    try:
        phone = data["phone"]
        ref, number = str(phone["id"]), re.sub(r"\D", "", str(phone["number"]))
    except (KeyError, TypeError) as exc:
        raise AmbiguousPurchaseError(f"{label}: unreadable answer to a rental") from exc
    if not ref.isdigit() or not number:
        raise AmbiguousPurchaseError(f"{label}: unreadable answer to a rental")
    return ref, number


class RentActions:
    """Mixed into SmsActivateProvider, whose `_call` makes one handler_api call."""

    def _rent_json(self, action: str, purchase: bool = False, **params: Any) -> dict:
        """A rent action's JSON answer; our error for its error answers."""
        body = self._call(action, purchase=purchase, **params)
        if body == "BAD_ACTION":
            raise UnsupportedError(f"{action}: not offered by this upstream")
        try:
            data = json.loads(body, parse_float=Decimal) if body.startswith("{") else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("status") != "error":
            return data
        raise token_error(body, purchase=purchase, label=action)

    # -- prices --------------------------------------------------------------------------

    def rent_prices(self, hours: list[int]) -> list[RentQuote]:
        quotes: list[RentQuote] = []
        for length in hours:
            try:
                listing = self._rent_table(length, None)
            except UnsupportedError:
                return []
            countries = _country_ids(listing.get("countries"))
            with ThreadPoolExecutor(max_workers=RENT_WORKERS) as pool:
                tables = list(pool.map(lambda c, h=length: self._rent_table_or_none(h, c), countries))
            for country_id, table in zip(countries, tables, strict=True):
                quotes.extend(_rent_quotes(table, country_id, length))
        return quotes

    def _rent_table(self, hours: int, country_id: int | None) -> dict:
        return self._rent_json("getRentServicesAndCountries", rent_time=hours, country=country_id)

    def _rent_table_or_none(self, hours: int, country_id: int) -> dict | None:
        """One country's table; None when it has nothing (OUT_OF_STOCK) or its call failed."""
        try:
            return self._rent_table(hours, country_id)
        except ProviderError:
            return None

    # -- renting -------------------------------------------------------------------------

    def rent(self, service, country_id, operator, hours, max_cost, reference) -> Rented:
        data = self._rent_json(
            "getRentNumber",
            purchase=True,
            service=service,
            country=country_id,
            rent_time=hours,
            operator=operator if operator and operator != "any" else None,
        )
        ref, phone = rented_of(data, "getRentNumber")
        # The answer does not say what it cost: the price we budgeted, quoted for these hours.
        return Rented(ref=ref, phone=phone, cost=max_cost if max_cost is not None else Decimal("0"))

    def rent_statuses(self, refs: list[str]) -> dict[str, RentStatus]:
        if not refs:
            return {}
        with ThreadPoolExecutor(max_workers=min(RENT_WORKERS, len(refs))) as pool:
            results = list(pool.map(self._rent_status_or_error, refs))
        answer = {ref: r for ref, r in zip(refs, results, strict=True) if isinstance(r, RentStatus)}
        errors = [r for r in results if isinstance(r, ProviderError)]
        if errors and not answer:  # nothing learnt and calls failed: the upstream is in trouble
            raise errors[0]
        return answer

    def _rent_status_or_error(self, ref: str) -> RentStatus | ProviderError | None:
        try:
            body = self._call("getRentStatus", id=ref, page=1, size=SMS_PAGE)
        except ProviderError as exc:
            return exc
        token = extract_token(body)
        if token is None and body.startswith("{"):
            try:
                data = json.loads(body)
            except ValueError:
                return RetryableProviderError("getRentStatus: unreadable answer")
            return RentStatus(ACTIVE, [rent_message(ref, row) for row in rows_of(data.get("values"))])
        name = (token or "").partition(":")[0]
        if name == "STATUS_WAIT_CODE":
            return RentStatus(ACTIVE)
        if name in RENT_STATES:
            return RentStatus(RENT_STATES[name])
        if name in UNKNOWN_RENTAL:
            return None
        return token_error(body, purchase=False, label="getRentStatus")

    def extension_cost(self, ref: str, hours: int) -> Decimal:
        data = self._rent_json("getContinueRentPriceNumber", id=ref, rent_time=hours)
        try:
            return to_decimal(data["price"])
        except (KeyError, ValueError) as exc:
            raise RetryableProviderError("getContinueRentPriceNumber: no readable price") from exc

    def extend_rent(self, ref: str, hours: int, max_cost: Decimal | None) -> Rented:
        data = self._rent_json("continueRentNumber", purchase=True, id=ref, rent_time=hours)
        new_ref, phone = rented_of(data, "continueRentNumber")  # an ended rental comes back with a new id
        return Rented(ref=new_ref, phone=phone, cost=max_cost if max_cost is not None else Decimal("0"))

    def _set_rent_status(self, ref: str, status: int) -> None:
        try:
            self._rent_json("setRentStatus", id=ref, status=status)
        except ProviderError as exc:
            if not str(exc).endswith(ALREADY_OVER):
                raise

    def finish_rent(self, ref: str) -> None:
        self._set_rent_status(ref, 1)

    def cancel_rent(self, ref: str) -> None:
        self._set_rent_status(ref, 2)

    # -- reactivation (getExtraActivation) -------------------------------------------------

    def _extra(self, action: str, ref: str, purchase: bool = False) -> str:
        # The docs name the parameter activationId; some clones read id: both are sent.
        body = self._call(action, purchase=purchase, activationId=ref, id=ref)
        if body == "BAD_ACTION":
            raise UnsupportedError(f"{action}: not offered by this upstream")
        return body

    def reactivation_cost(self, ref: str, service: str, country_id: int, phone: str) -> Decimal:
        body = self._extra("checkExtraActivation", ref)
        try:
            data = json.loads(body, parse_float=Decimal) if body.startswith("{") else None
            if isinstance(data, dict) and data.get("status") == "success":
                return to_decimal(data["cost"])
        except (KeyError, ValueError):
            pass
        raise token_error(body, purchase=False, label="checkExtraActivation")

    def reactivate(self, ref, service, country_id, phone, max_cost, reference) -> Purchase:
        cost = self.reactivation_cost(ref, service, country_id, phone)
        if max_cost is not None and cost > max_cost:
            raise PriceTooHighError(f"checkExtraActivation: costs {cost}, above {max_cost}")
        new_ref, new_phone, _ = read_purchase(
            self._extra("getExtraActivation", ref, purchase=True), "getExtraActivation"
        )
        return Purchase(ref=new_ref, phone=new_phone, cost=cost)


def _country_ids(countries: Any) -> list[int]:
    """getRentServicesAndCountries' `countries`: {"0": 2, "1": 16} (index -> id) or a list of ids."""
    values = countries.values() if isinstance(countries, dict) else countries or []
    return sorted({int(v) for v in values if str(v).isdigit()})


def _rent_quotes(table: dict | None, country_id: int, hours: int) -> list[RentQuote]:
    """One country's `services`: {code: {cost, quant}} (HeroSMS: {price, quantity})."""
    services = (table or {}).get("services")
    if not isinstance(services, dict):
        return []
    quotes = []
    for code, row in services.items():
        try:
            cost = to_decimal(row.get("cost", row.get("price")))
            stock = int(row.get("quant", row.get("quantity", row.get("count", 0))))
        except (AttributeError, TypeError, ValueError):
            continue
        quotes.append(RentQuote(str(code), country_id, "any", hours, cost, stock))
    return quotes
