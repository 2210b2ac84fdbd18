"""Every token and answer format of the SMS-Activate protocol, here and in protocol_rent.py (rent).

Reference: shared/reference/sms-activate-protocol.md. Plain answers are byte-exact tokens
without a newline (clients compare the whole body, §1.4); JSON answers are compact objects
(the smsbower client parses only bodies inside braces) whose money is a JSON number printed
from the Decimal itself, never through a float.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from decimal import Decimal

from ..errors import DomainError
from ..models import Activation, Sms
from ..models import activations as st
from ..money import format_legacy

# Plain text, not text/html: a FULL_SMS body carries text from strangers, which a browser
# must never render as markup (sent with X-Content-Type-Options: nosniff).
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
USD = 840  # ISO 4217 numeric; the herosms library requires `currency` (§4.3)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # aiosmsactivate parses exactly this (§2); our times are UTC

ACCESS_BALANCE = "ACCESS_BALANCE"
ACCESS_NUMBER = "ACCESS_NUMBER"
ACCESS_READY = "ACCESS_READY"
ACCESS_RETRY_GET = "ACCESS_RETRY_GET"
ACCESS_ACTIVATION = "ACCESS_ACTIVATION"
ACCESS_CANCEL = "ACCESS_CANCEL"
STATUS_WAIT_CODE = "STATUS_WAIT_CODE"
STATUS_WAIT_RETRY = "STATUS_WAIT_RETRY"
STATUS_OK = "STATUS_OK"
STATUS_CANCEL = "STATUS_CANCEL"
FULL_SMS = "FULL_SMS"
NO_ACTIVATIONS = "NO_ACTIVATIONS"

# Error shapes (§9.9): plain token; activation side JSON `error`; rent side JSON `message`
# (the Java library reads `message`, grizzlysms reads `error`: both keys are sent).
PLAIN, ACTIVATION_JSON, RENT_JSON = "plain", "activation-json", "rent-json"
# ... except these, plain on the rent side too (reference §4.4): a scope refusal is BAD_KEY.
PLAIN_ON_RENT = frozenset({"BAD_KEY", "BAD_ACTION"})

# Numeric activation status of getActiveActivations/getHistory (§3.4).
STATUS_NUMBER = {
    st.PENDING: "4",
    st.WAITING: "4",
    st.RECEIVED: "2",
    st.RETRY: "3",
    st.COMPLETED: "6",
    st.CANCELED: "8",
    st.EXPIRED: "8",
    st.FAILED: "8",
    st.WITHDRAWN: "8",
}

# Substring-matching clients (official Java, mIwr C#, smsactivateru) take these words anywhere
# in a body for an error (§1.5); inside an SMS text they are lowered so a FULL_SMS stays a success.
_ALARMING = re.compile(r"SQL|BANNED|BAD_[A-Z]+|NO_[A-Z]+|STATUS_CANCEL|WRONG_[A-Z_]+|ERROR")

# The raw English names of the real getCountries dump where they differ from ours (Appendix A):
# bots look countries up by these exact strings.
RAW_ENG_NAMES = {
    12: "USA (virtual)", 14: "HongKong", 16: "England", 18: "DCongo", 27: "Ivory", 31: "Southafrica",
    53: "Saudiarabia", 63: "Czech", 64: "Srilanka", 67: "Newzealand", 79: "Papua", 91: "Timorleste",
    93: "Costarica", 95: "Uae", 97: "Puertorico", 101: "Salvador", 102: "Libyan", 104: "Trinidad",
    108: "Bosnia", 109: "Dominican", 110: "Syrian", 115: "Sierraleone", 125: "Caf", 130: "Guineabissau",
    134: "Saintkitts", 152: "Burkinafaso", 162: "Frenchguiana", 164: "Saintlucia", 166: "Saintvincentgrenadines",
    167: "Equatorialguinea", 169: "Antiguabarbuda", 170: "Caymanislands", 177: "Southsudan",
    178: "Saotomeandprincipe", 183: "Northmacedonia", 185: "Newcaledonia", 186: "Capeverde", 190: "Southkorea",
    191: "Northkorea", 192: "Westernsahara", 193: "Solomonislands", 202: "Faroeislands",
}  # fmt: skip


@dataclass(frozen=True)
class Answer:
    body: str
    mimetype: str = TEXT
    status: int = 200  # what the REST API answers for the same outcome: sent as X-Status-Code


def token(name: str, *payload: object, status: int = 200) -> Answer:
    return Answer(":".join((name, *map(str, payload))), TEXT, status)


def as_json(value: object, status: int = 200) -> Answer:
    return Answer(encode(value), JSON, status)


def encode(value: object) -> str:
    """Compact JSON in which a Decimal is a number with its exact digits (0.23, never 0.2300000001)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(item) for item in value) + "]"
    raise TypeError(f"not encodable in a legacy answer: {type(value).__name__}")


def error(error: DomainError, shape: str = PLAIN) -> Answer:
    name = error.legacy_answer()
    if shape == ACTIVATION_JSON:
        return as_json({"status": "error", "error": name}, error.http_status)
    if shape == RENT_JSON and name not in PLAIN_ON_RENT:
        body: dict[str, object] = {"status": "error", "message": name, "error": name}
        info = error.legacy_info()
        if info is not None:  # MAX_HOURS_EXCEED says how many hours may still be added (§4.4)
            body["info"] = info
        return as_json(body, error.http_status)
    return token(name, status=error.http_status)


def timestamp(moment: datetime.datetime | None) -> str:
    return moment.strftime(TIME_FORMAT) if moment else ""


def safe_code(code: str | None) -> str:
    """Letters and digits only: clients split on ':' and Swift wants exactly two parts (§2)."""
    return re.sub(r"[^0-9A-Za-z]", "", code or "")


def safe_text(text: str) -> str:
    return _ALARMING.sub(lambda m: m.group(0).lower(), text).strip()


def country_name(country_id: int, name: str) -> str:
    return RAW_ENG_NAMES.get(country_id, name)


# --- activation answers ---------------------------------------------------------------


def number(activation: Activation) -> Answer:
    return token(ACCESS_NUMBER, activation.id, activation.phone_number, status=201)


def number_v2(activation: Activation) -> Answer:
    """The recommended object of §4.3: every client's type demands at once."""
    return as_json(
        {
            "activationId": str(activation.id),
            "phoneNumber": activation.phone_number,
            "activationCost": format_legacy(activation.user_cost),
            "currency": USD,
            "countryCode": str(activation.country_id),
            "canGetAnotherSms": True,
            "activationTime": timestamp(activation.created_at),
            "activationEndTime": timestamp(activation.expires_at),
            "activationOperator": activation.operator or "any",
        },
        201,
    )


def status(activation: Activation) -> Answer:
    """getStatus (§3.1), with the decisions of SPEC "Legacy API" for terminal states."""
    if activation.status in (st.PENDING, st.WAITING):
        return token(STATUS_WAIT_CODE)
    if activation.status == st.RETRY:
        return token(STATUS_WAIT_RETRY, safe_code(activation.sms_code))
    if activation.status in (st.RECEIVED, st.COMPLETED):
        return token(STATUS_OK, safe_code(activation.sms_code))
    return token(STATUS_CANCEL)


def status_v2(activation: Activation, messages: list[Sms]) -> Answer:
    """`sms: null` until a message arrives; a refunded activation answers plain STATUS_CANCEL."""
    if activation.status in st.REFUNDED:
        return token(STATUS_CANCEL)
    last = messages[-1] if messages and activation.status != st.PENDING else None
    sms = None
    if last is not None:
        sms = {"dateTime": timestamp(last.received_at), "code": safe_code(last.code), "text": last.text}
    return as_json({"verificationType": 0, "sms": sms, "call": None})


def full_sms(activation: Activation, messages: list[Sms]) -> Answer:
    if activation.status in st.REFUNDED:
        return token(STATUS_CANCEL)
    if activation.status in (st.PENDING, st.WAITING) or not messages:
        return token(STATUS_WAIT_CODE)
    return token(FULL_SMS, safe_text(messages[-1].text))


def active_activations(rows: list[tuple[Activation, list[Sms]]]) -> Answer:
    """All scalars as strings (Swift and Go decode every field as a string, §4.3)."""
    if not rows:
        return as_json({"status": "error", "error": NO_ACTIVATIONS})
    items = [_active_row(activation, messages) for activation, messages in rows]
    # `data` duplicates the list for the herosms library, which reads only that key.
    return as_json({"status": "success", "activeActivations": items, "data": items})


def _active_row(activation: Activation, messages: list[Sms]) -> dict:
    return {
        "activationId": str(activation.id),
        "serviceCode": activation.service_id,
        "phoneNumber": activation.phone_number or "",
        "activationCost": format_legacy(activation.user_cost),
        "activationStatus": STATUS_NUMBER[activation.status],
        "smsCode": safe_code(activation.sms_code) if activation.sms_code else None,
        "smsText": messages[-1].text if messages else None,
        "activationTime": timestamp(activation.created_at),
        "discount": "0",
        "repeated": "1" if activation.status == st.RETRY or len(messages) > 1 else "0",
        "countryCode": str(activation.country_id),
        "countryName": country_name(activation.country_id, activation.country.name),
        "canGetAnotherSms": "1",
        "currency": USD,
    }


def history(rows: list[tuple[Activation, list[Sms]]]) -> Answer:
    """Rows of §4.3 keyed "0", "1", … (JSON answers are objects here); `cost` is what was kept."""
    return as_json({str(n): _history_row(a, messages) for n, (a, messages) in enumerate(rows)})


def _history_row(activation: Activation, messages: list[Sms]) -> dict:
    return {
        "id": activation.id,
        "date": timestamp(activation.created_at),
        "phone": activation.phone_number or "",
        "sms": encode([m.text for m in messages]),
        "cost": Decimal("0.00") if activation.status in st.REFUNDED else activation.user_cost,
        "status": STATUS_NUMBER[activation.status],
        "currency": USD,
    }


# --- account and catalogue answers ----------------------------------------------------

# getNumbersStatus `<service>_<forward>` form (per-key option): smsactivateru reads a fixed set
# of keys and fails on any missing one, so the form lists every service, the forwarding
# variants it knows (we have no forwarding numbers: 0), and codes retired from the catalogue.
FORWARDING_CODES = ("av", "ot", "ya", "ym")
RETIRED_CODES = ("qw",)


@dataclass
class Offer:
    price: Decimal  # the cheapest
    count: int  # at any price
    levels: dict[Decimal, int]  # price -> count, for freePriceMap


def balance(amount: Decimal) -> Answer:
    return token(ACCESS_BALANCE, format_legacy(amount))


def numbers_status(stock: dict[str, int], legacy_keys: bool) -> Answer:
    """Current form: bare keys, string counts (the Go client wants strings); legacy: `vk_0` ints."""
    if not legacy_keys:
        return as_json({code: str(count) for code, count in stock.items()})
    body = {f"{code}_0": count for code, count in stock.items()}
    body.update({f"{code}_0": 0 for code in RETIRED_CODES if f"{code}_0" not in body})
    body.update({f"{code}_1": 0 for code in FORWARDING_CODES})
    return as_json(body)


def fold(rows) -> dict[tuple[int, str], Offer]:
    """Best-price rows (dicts, one per operator) folded into one offer per (country, service)."""
    offers: dict[tuple[int, str], Offer] = {}
    for row in rows:
        price, count = row["price"], int(row["stock"])
        offer = offers.setdefault((row["country"], row["service"]), Offer(price, 0, {}))
        offer.price = min(offer.price, price)
        offer.count += count
        offer.levels[price] = offer.levels.get(price, 0) + count
    return offers


def prices(offers: dict[tuple[int, str], Offer]) -> Answer:
    """getPrices: country -> service -> {cost, count}; `{}` when nothing matches."""
    body: dict[str, dict] = {}
    for (country_id, code), offer in offers.items():
        body.setdefault(str(country_id), {})[code] = {
            "cost": offer.price,
            "count": offer.count,
            "physicalCount": offer.count,
        }
    return as_json(body)


def prices_verification(offers: dict[tuple[int, str], Offer]) -> Answer:
    """getPricesVerification: the inverted map, service -> country -> {count, price}."""
    body: dict[str, dict] = {}
    for (country_id, code), offer in sorted(offers.items(), key=lambda item: (item[0][1], item[0][0])):
        body.setdefault(code, {})[str(country_id)] = {"count": offer.count, "price": offer.price}
    return as_json(body)


def top_countries(offers: dict[tuple[int, str], Offer], service: str | None, free_price: bool) -> Answer:
    """Ranked by stock, then price; keyed "0", "1", …; without a service, one such map per service."""
    by_service: dict[str, list[tuple[int, Offer]]] = {}
    for (country_id, code), offer in offers.items():
        by_service.setdefault(code, []).append((country_id, offer))
    ranked = {code: _ranking(rows, free_price) for code, rows in sorted(by_service.items())}
    if service is not None:
        return as_json(ranked.get(service, {}))
    return as_json(ranked)


def _ranking(rows: list[tuple[int, Offer]], free_price: bool) -> dict[str, dict]:
    rows = sorted(rows, key=lambda row: (-row[1].count, row[1].price, row[0]))
    body = {}
    for rank, (country_id, offer) in enumerate(rows):
        item = {"country": country_id, "count": offer.count, "price": offer.price, "retail_price": offer.price}
        if free_price:
            item["freePriceMap"] = {f"{price:f}": count for price, count in sorted(offer.levels.items())}
        body[str(rank)] = item
    return body


def operators(by_country: dict[int, list[str]]) -> Answer:
    return as_json({"status": "success", "countryOperators": {str(k): v for k, v in by_country.items()}})


def countries(rows, renting: set[int]) -> Answer:
    """All eight fields the Swift client requires. `rent` is 1 where numbers can be rented now;
    we sell no multi-service numbers (0); another SMS can be asked for everywhere (1). Names in
    Russian and Chinese are not in our catalogue: the English name stands in."""
    body = {}
    for country in rows:
        body[str(country.id)] = {
            "id": country.id,
            "rus": country.name,
            "eng": country_name(country.id, country.name),
            "chn": country.name,
            "visible": 1,
            "retry": 1,
            "rent": int(country.id in renting),
            "multiService": 0,
        }
    return as_json(body)


def services_list(rows) -> Answer:
    return as_json({"status": "success", "services": [{"code": s.code, "name": s.name} for s in rows]})
