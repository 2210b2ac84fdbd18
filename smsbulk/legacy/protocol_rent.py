"""Every answer format of the protocol's rent actions (reference §4.4) and extra activations (§4.3).

Rent answers are JSON. Their errors, and the states getRentStatus reports as errors, are
`{"status":"error","message":TOKEN}` with the same token under `error` too (the Java library
reads `message`, grizzlysms `error`): protocol.error(…, RENT_JSON). Money is a JSON number with
its exact digits; `endDate` is `YYYY-MM-DDTHH:MM:SS`, other times `YYYY-MM-DD HH:MM:SS`, UTC.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .protocol import USD, Answer, as_json, safe_text, timestamp

END_FORMAT = "%Y-%m-%dT%H:%M:%S"
STATUS_WAIT_CODE = "STATUS_WAIT_CODE"


@dataclass(frozen=True)
class RentSms:
    sender: str
    text: str
    service: str
    received_at: datetime.datetime


def _numbered(items: Iterable) -> dict[str, object]:
    """Objects keyed "0", "1", …: how the protocol lists (the Java library reads a map)."""
    return {str(n): item for n, item in enumerate(items)}


Offered = dict[str, tuple[Decimal, int]]  # service code -> (price, stock)
Paid = tuple[datetime.datetime, Decimal, int]  # when, how much, for how many hours


def rent_catalogue(countries: Sequence[int], operators: Sequence[str], services: Offered) -> Answer:
    """getRentServicesAndCountries: the renting countries, the country's operators, and per
    service the price of the asked length and the numbers in stock."""
    body = {
        "countries": _numbered(countries),
        "operators": _numbered(operators),
        "services": {code: {"cost": price, "quant": stock} for code, (price, stock) in services.items()},
        "currency": USD,
    }
    return as_json(body)


def rented(rental_id: int, ends_at: datetime.datetime, phone: str, status: int = 200) -> Answer:
    """getRentNumber and continueRentNumber."""
    phone_row = {"id": rental_id, "endDate": ends_at.strftime(END_FORMAT), "number": phone}
    return as_json({"status": "success", "phone": phone_row}, status)


def state(token: str) -> Answer:
    """getRentStatus without SMS to show: the rental's state, in the error shape (§4.4)."""
    return as_json({"status": "error", "message": token, "error": token})


def rent_sms(messages: Sequence[RentSms], page: int, size: int) -> Answer:
    """getRentStatus with SMS: newest first, a page of them; `quantity` counts them all."""
    newest = list(reversed(messages))[(page - 1) * size : page * size]
    values = [
        {"phoneFrom": m.sender, "text": safe_text(m.text), "service": m.service, "date": timestamp(m.received_at)}
        for m in newest
    ]
    return as_json({"status": "success", "quantity": str(len(messages)), "values": _numbered(values)})


def success() -> Answer:
    """setRentStatus."""
    return as_json({"status": "success"})


def rent_list(rows: Sequence[tuple[int, str]]) -> Answer:
    """getRentList: (id, phone) of the open rentals, ids as strings."""
    return as_json({"status": "success", "values": _numbered({"id": str(i), "phone": p} for i, p in rows)})


def extension_price(price: Decimal) -> Answer:
    """getContinueRentPriceNumber."""
    return as_json({"status": "success", "price": price, "currency": USD})


def extension_info(price: Decimal, hours: int, history: Sequence[Paid] | None) -> Answer:
    """continueRentInfo; with needHistory, what was paid for the rental so far."""
    body: dict[str, object] = {"status": "success", "price": price, "currency": USD, "hours": hours}
    if history is not None:
        body["history"] = _numbered(
            {"createDate": timestamp(at), "price": f"{paid:f}", "hours": length} for at, paid, length in history
        )
    return as_json(body)


def extra_activation_quote(cost: Decimal, service: str, phone: str, country_id: int) -> Answer:
    """checkExtraActivation: the phone as a JSON number, as the reference shows it."""
    return as_json({"status": "success", "cost": cost, "service": service, "phone": int(phone), "country": country_id})
