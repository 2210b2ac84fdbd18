"""Reading 5sim orders and naming 5sim's countries: shared by activations and hosting (rentals)."""

from __future__ import annotations

import csv
import datetime
import functools
import hashlib
import re
from pathlib import Path

from .base import CANCELED, FINISHED, RECEIVED, WAITING, Message, Purchase, Status
from .fivesim_tables import COUNTRY_OVERRIDES
from .http import to_decimal

COUNTRIES_CSV = Path(__file__).resolve().parent.parent / "data" / "countries.csv"

# 5sim order status -> ours. 5sim's RECEIVED means "number handed out, waiting for
# the SMS", not "SMS received".
STATES: dict[str, str] = {
    "PENDING": WAITING,
    "RECEIVED": WAITING,
    "CANCELED": CANCELED,  # refunded
    "TIMEOUT": CANCELED,  # expired without SMS: refunded
    "BANNED": CANCELED,  # number reported as used: refunded
    "FINISHED": FINISHED,
}
OPEN_STATES = ("PENDING", "RECEIVED")  # a number still held for us


def _default_slug(name: str) -> str:
    return re.sub(r"[^a-z]", "", re.sub(r"\(.*?\)", "", name.lower()))


@functools.cache
def country_slugs() -> dict[int, str]:
    """Our country id -> 5sim slug, for every country in countries.csv."""
    with COUNTRIES_CSV.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        slugs = {int(row["id"]): _default_slug(row["name_en"]) for row in rows}
    return slugs | COUNTRY_OVERRIDES


@functools.cache
def country_ids() -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for country_id, slug in sorted(country_slugs().items()):
        ids.setdefault(slug, []).append(country_id)
    return ids


def parse_time(stamp: object) -> datetime.datetime | None:
    """A 5sim time ("2025-06-01T12:01:02.123456Z") as naive UTC; None if it is not one."""
    try:
        moment = datetime.datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def _when(sms: dict) -> datetime.datetime:
    """When 5sim got the SMS, as naive UTC; now if it does not say."""
    moment = parse_time(sms.get("created_at") or sms.get("date"))
    return moment or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def make_message(ref: str, sms: dict) -> Message:
    """One SMS of an order. The order list and /check show the same SMS with the same
    stamp and text, so a hash of those names it across polls and endpoints."""
    text = str(sms.get("text") or "")
    code = str(sms.get("code") or "").strip() or None
    stamp = str(sms.get("created_at") or sms.get("date") or "")
    digest = hashlib.sha256(f"{stamp}|{text}|{code}".encode()).hexdigest()[:16]
    sender = str(sms.get("sender") or "") or None
    return Message(f"{ref}:{digest}", text or code or "", code, _when(sms), sender=sender)


def order_status(order: dict) -> Status:
    ref = str(order.get("id"))
    messages = [make_message(ref, sms) for sms in order.get("sms") or [] if isinstance(sms, dict)]
    state = STATES.get(str(order.get("status")).upper(), WAITING)
    if messages and state in (WAITING, CANCELED):
        # A code arrived, so the order is charged whatever 5sim calls it now; our side completes it.
        state = RECEIVED
    return Status(state, messages)


def purchase_of(order: dict) -> Purchase:
    return Purchase(
        ref=str(int(order["id"])),
        phone=re.sub(r"\D", "", str(order["phone"])),  # 5sim writes "+7..."
        cost=to_decimal(order["price"]),
    )
