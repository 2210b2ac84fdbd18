"""5sim's hosting numbers (rentals) and re-bought numbers (reuse), where 5sim's API offers them.

- Hosting: `GET /v1/user/buy/hosting/{country}/{operator}/{product}`, where the product is a
  length ("3hours", "1day"): `/v1/guest/products/{country}/{operator}` lists them with Category
  "hosting", and `/v1/guest/countries` tells which countries have any. A hosting number gets
  the SMS of every service, so it is rented here as `full` only. 5sim rents exactly a product's
  length, and its API has no call to extend a hosting order: a rental from 5sim cannot be
  extended (the adapter's default, UnsupportedError).
- Reuse: `GET /v1/user/reuse/{product}/{number}` buys a new activation on a number that was
  bought with reuse=1 (buy() always asks for it), at the product's price.
"""

from __future__ import annotations

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
    NoNumbersError,
    PriceTooHighError,
    ProviderError,
    Purchase,
    Rented,
    RentQuote,
    RentStatus,
)
from .fivesim_orders import country_ids, country_slugs, make_message, parse_time, purchase_of
from .fivesim_tables import PRODUCTS
from .http import to_decimal

HOSTING_WORKERS = 8  # parallel product listings, one per country that hosts
LENGTH = re.compile(r"^([0-9]{1,4})\s*(hours?|h|days?|d|weeks?|w|months?|m)$")
UNIT_HOURS = {"h": 1, "d": 24, "w": 168, "m": 720}  # a month is 30 days
# A hosting order's 5sim status -> our rental state.
HOSTING_STATES = {
    "PENDING": ACTIVE,
    "RECEIVED": ACTIVE,
    "FINISHED": FINISHED,
    "TIMEOUT": FINISHED,  # its time ran out
    "CANCELED": CANCELED,
    "BANNED": REVOKED,  # the number was blocked: no longer ours
}


def hours_of(product: str) -> int | None:
    """The length of a hosting product ("3hours" -> 3, "1day" -> 24), or None."""
    found = LENGTH.match(product.strip().lower())
    return int(found[1]) * UNIT_HOURS[found[2][0]] if found and int(found[1]) > 0 else None


def hosting_status(order: dict) -> RentStatus:
    ref = str(order.get("id"))
    messages = [make_message(ref, sms) for sms in order.get("sms") or [] if isinstance(sms, dict)]
    state = HOSTING_STATES.get(str(order.get("status")).upper(), ACTIVE)
    return RentStatus(state, messages, parse_time(order.get("expires")))


class HostingActions:
    """Mixed into FiveSimProvider, whose `_get`, `_orders`, `_act` and `_within` it uses."""

    def rent_prices(self, hours: list[int]) -> list[RentQuote]:
        countries = self._get("/v1/guest/countries", auth=False)
        hosting = sorted(
            slug
            for slug, row in (countries.items() if isinstance(countries, dict) else [])
            if isinstance(row, dict) and any(isinstance(v, dict) and v.get("hosting") for v in row.values())
        )
        with ThreadPoolExecutor(max_workers=HOSTING_WORKERS) as pool:
            tables = list(pool.map(self._products_or_none, hosting))
        ids, quotes = country_ids(), []
        for slug, products in zip(hosting, tables, strict=True):
            for length, (_, price, stock) in (products or {}).items():
                quotes += [
                    RentQuote("full", c, "any", length, price, stock, any_hours=False) for c in ids.get(slug, ())
                ]
        return quotes

    def _products(self, country: str, operator: str = "any") -> dict[int, tuple[str, Decimal, int]]:
        """A country's hosting products: length in hours -> (product, price, stock)."""
        data = self._get(f"/v1/guest/products/{country}/{operator}", auth=False)
        found: dict[int, tuple[str, Decimal, int]] = {}
        for name, row in data.items() if isinstance(data, dict) else []:
            length = hours_of(str(name))
            if length is None or not isinstance(row, dict) or str(row.get("Category")).lower() != "hosting":
                continue
            try:
                found[length] = (str(name), to_decimal(row["Price"]), int(row.get("Qty", 0)))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def _products_or_none(self, country: str) -> dict | None:
        try:
            return self._products(country)
        except ProviderError:
            return None

    def rent(self, service, country_id, operator, hours, max_cost, reference) -> Rented:
        country = country_slugs().get(country_id)
        if service != "full" or country is None:
            raise NoNumbersError(f"5sim hosts only full rentals, not {service} in {country_id}")
        operator = operator or "any"
        product = self._products(country, operator).get(hours)
        if product is None:
            raise NoNumbersError(f"5sim rents no {hours} h numbers in {country}")
        if max_cost is not None and product[1] > max_cost:
            raise PriceTooHighError(f"hosting costs {product[1]}, above {max_cost}")
        order = self._get(f"/v1/user/buy/hosting/{country}/{operator}/{product[0]}", purchase=True)
        bought = self._within(_purchase(order, "hosting"), max_cost)
        return Rented(bought.ref, bought.phone, bought.cost, parse_time(order.get("expires")))

    def rent_statuses(self, refs: list[str]) -> dict[str, RentStatus]:
        return {ref: hosting_status(order) for ref, order in self._orders(refs, "hosting").items()}

    def finish_rent(self, ref: str) -> None:
        self._act("finish", ref, done=("order not found", "order expired"))

    def cancel_rent(self, ref: str) -> None:
        self._act("cancel", ref, done=("order not found", "order expired"))

    def reactivation_cost(self, ref: str, service: str, country_id: int, phone: str) -> Decimal:
        product, country = PRODUCTS.get(service), country_slugs().get(country_id)
        if product is None or country is None:
            raise NoNumbersError(f"5sim sells no {service} numbers for country {country_id}")
        table = self._get("/v1/guest/prices", auth=False, country=country, product=product)
        rows = ((table or {}).get(country) or {}).get(product) or {}
        costs = [to_decimal(row["cost"]) for row in rows.values() if isinstance(row, dict) and "cost" in row]
        if not costs:
            raise NoNumbersError(f"5sim lists no {product} price in {country}")
        return max(costs)  # the number keeps its operator, which the price list does not name: the highest

    def reactivate(self, ref, service, country_id, phone, max_cost, reference) -> Purchase:
        product = PRODUCTS.get(service)
        if product is None:
            raise NoNumbersError(f"5sim sells no {service} numbers")
        order = self._get(f"/v1/user/reuse/{product}/{phone}", purchase=True)
        return self._within(_purchase(order, "reuse"), max_cost)


def _purchase(order: Any, label: str) -> Purchase:
    try:
        return purchase_of(order)
    except (KeyError, TypeError, ValueError) as exc:
        raise AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase") from exc
