"""The 5sim.net REST upstream: a Bearer token against https://5sim.net/v1.

5sim names countries and services by slugs ("england", "whatsapp") where we use
SMS-Activate ids and codes, so two tables below translate. Errors come back as short
plain-text sentences, mostly with HTTP 400 (but "no free phones" also with 200), 401
for a bad token and 429 when rate limited. 5sim delivers every SMS to an open order by
itself, so there is no "send another code" call.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import requests

from .base import (
    DEFAULT_TIMEOUT,
    AmbiguousPurchaseError,
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
from .fivesim_hosting import HostingActions
from .fivesim_orders import OPEN_STATES, country_ids, country_slugs, order_status, purchase_of
from .fivesim_tables import PRODUCTS
from .http import fetch, status_error, to_decimal

__all__ = ["PAGE_SIZE", "PRODUCTS", "FiveSimProvider", "country_slugs"]

DEFAULT_BASE_URL = "https://5sim.net"
PAGE_SIZE = 100  # orders per page of the order list
MAX_PAGES = 5  # beyond this, older refs are checked one by one
CHECK_WORKERS = 8  # parallel /check calls for refs the order list did not show

# 5sim's error sentence -> our error class.
ERRORS: dict[str, type[ProviderError]] = {
    "no free phones": NoNumbersError,  # none in stock for this country/operator/product
    # Rating caps how many orders we may hold at once: no more from 5sim for now.
    "not enough rating": NoNumbersError,
    "not enough user balance": OutOfFundsError,
    "server offline": RetryableProviderError,
    "you need to wait time": RetryableProviderError,  # cancel asked too soon after buying
    # The request names something 5sim does not sell: fix the tables, not a retry.
    "select country": PermanentProviderError,
    "select operator": PermanentProviderError,
    "bad country": PermanentProviderError,
    "bad operator": PermanentProviderError,
    "no product": PermanentProviderError,
    # About one order; cancel() and finish() treat some of these as already done.
    "order not found": PermanentProviderError,
    "order expired": PermanentProviderError,
    "order has sms": PermanentProviderError,  # too late to cancel: the code was delivered
    "order no sms": PermanentProviderError,  # nothing to finish yet
    "hosting order": PermanentProviderError,  # not an activation
    # Buying a number again (reuse): not for this number, or no longer.
    "reuse not possible": NoNumbersError,
    "reuse false": NoNumbersError,
    "reuse expired": NoNumbersError,
}

SERVICES: dict[str, str] = {product: service for service, product in PRODUCTS.items()}


def _answer_error(text: str, status: int, *, purchase: bool, label: str) -> ProviderError:
    """Our error for an answer that is not the JSON we asked for."""
    sentence = text.strip().lower()
    if sentence in ERRORS:
        return ERRORS[sentence](f"{label}: {sentence}")
    if status == 401:
        return PermanentProviderError(f"{label}: the token was refused")
    if status >= 400:
        return status_error(status, purchase=purchase, label=label)
    if purchase:  # a garbled 200 may hide a purchase
        return AmbiguousPurchaseError(f"{label}: unreadable answer to a purchase")
    return RetryableProviderError(f"{label}: unreadable answer")


class FiveSimProvider(HostingActions, ProviderAdapter):
    kind = "5sim"

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
        self.url = url[: -len("/v1")] if url.endswith("/v1") else url
        self._token = api_key
        self.timeout = (timeout, timeout)  # (connect, read): never wait forever on either
        self.session = session or requests.Session()

    def __repr__(self) -> str:  # never show the token
        return f"FiveSimProvider({self.url!r})"

    def _get(self, path: str, *, purchase: bool = False, auth: bool = True, **params: Any) -> Any:
        """GET one endpoint; the parsed JSON (amounts as Decimal), or our error."""
        label = path.split("/")[3] if path.startswith("/v1/user/") else path
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        status, text = fetch(
            self.session,
            self.url + path,
            params=params,
            headers=headers,
            timeout=self.timeout,
            purchase=purchase,
            secret=self._token,
            label=label,
        )
        if status < 400:
            try:
                return json.loads(text, parse_float=Decimal)
            except ValueError:
                pass
        raise _answer_error(text, status, purchase=purchase, label=label)

    # -- buying ------------------------------------------------------------------------

    def buy(self, service: str, country_id: int, operator: str, max_cost: Decimal | None, reference: str) -> Purchase:
        product, country = PRODUCTS.get(service), country_slugs().get(country_id)
        if product is None or country is None:
            raise NoNumbersError(f"5sim sells no {service} numbers for country {country_id}")
        path = f"/v1/user/buy/activation/{country}/{operator or 'any'}/{product}"
        # reuse=1: the number may be bought again for this product later (reactivate()).
        params = {"maxPrice": format(max_cost, "f")} if max_cost is not None else {}
        order = self._get(path, purchase=True, reuse="1", **params)
        try:
            bought = purchase_of(order)
        except (KeyError, TypeError, ValueError) as exc:
            raise AmbiguousPurchaseError("buy: unreadable answer to a purchase") from exc
        return self._within(bought, max_cost)

    def _within(self, bought: Purchase, max_cost: Decimal | None) -> Purchase:
        """A number charged above maxPrice (were 5sim to ignore it) goes straight back; one
        that cannot be given back is ours and paid for, so it is kept."""
        if max_cost is None or bought.cost <= max_cost:
            return bought
        try:
            self.cancel(bought.ref)
        except ProviderError:
            return bought
        raise PriceTooHighError(f"buy: charged {bought.cost}, above the maximum {max_cost}")

    def open_purchases(self, service: str, country_id: int) -> list[Purchase]:
        """Our newest open orders for (service, country) without an SMS, from one page of the
        order list: a purchase whose answer was lost shows up there."""
        product, country = PRODUCTS.get(service), country_slugs().get(country_id)
        data = self._get("/v1/user/orders", category="activation", limit=PAGE_SIZE, order="id", reverse="true")
        rows = data.get("Data") if isinstance(data, dict) else None
        found = []
        for order in rows or []:
            if not isinstance(order, dict) or order.get("sms") or str(order.get("status")).upper() not in OPEN_STATES:
                continue
            if order.get("product") != product or order.get("country") != country:
                continue
            try:
                found.append(purchase_of(order))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    # -- status ------------------------------------------------------------------------

    def statuses(self, refs: list[str]) -> dict[str, Status]:
        return {ref: order_status(order) for ref, order in self._orders(refs, "activation").items()}

    def _orders(self, refs: list[str], category: str) -> dict[str, dict]:
        """Our orders of a category by ref: from the order list, then one by one for the rest."""
        if not refs:
            return {}
        listed = self._listed_orders(set(refs), category)
        answer = {ref: listed[ref] for ref in refs if ref in listed}
        missing = [ref for ref in refs if ref not in listed]
        if missing:
            with ThreadPoolExecutor(max_workers=min(CHECK_WORKERS, len(missing))) as pool:
                checked = list(pool.map(self._check, missing))
            answer.update({ref: order for ref, order in zip(missing, checked, strict=True) if order})
        return answer

    def _listed_orders(self, refs: set[str], category: str) -> dict[str, dict]:
        """Our orders from the order list, newest first, in as few pages as it takes.

        Paging stops when every ref was seen, the list ends, or it has gone below the
        oldest ref (ids grow with time)."""
        wanted = {int(ref) for ref in refs if ref.isdigit()}
        found: dict[str, dict] = {}
        for page in range(MAX_PAGES if wanted else 0):
            data = self._get(
                "/v1/user/orders",
                category=category,
                limit=PAGE_SIZE,
                offset=page * PAGE_SIZE,
                order="id",
                reverse="true",
            )
            rows = data.get("Data") if isinstance(data, dict) else None
            orders = [o for o in rows or [] if isinstance(o, dict) and str(o.get("id")).isdigit()]
            found.update({str(o["id"]): o for o in orders if int(o["id"]) in wanted})
            ids = [int(o["id"]) for o in orders]
            if len(found) == len(wanted) or len(orders) < PAGE_SIZE or min(ids) < min(wanted):
                break
        return found

    def _check(self, ref: str) -> dict | None:
        """One order by id; None if 5sim does not know it or the call fails (left out)."""
        try:
            order = self._get(f"/v1/user/check/{ref}")
        except ProviderError:
            return None
        return order if isinstance(order, dict) else None

    # -- changing an order -------------------------------------------------------------

    def _act(self, action: str, ref: str, done: tuple[str, ...]) -> None:
        try:
            self._get(f"/v1/user/{action}/{ref}")
        except PermanentProviderError as exc:
            if not str(exc).endswith(done):
                raise

    def cancel(self, ref: str) -> None:
        # Gone or already over: nothing left to cancel. "order has sms" is raised: it is charged.
        self._act("cancel", ref, done=("order not found", "order expired"))

    def finish(self, ref: str) -> None:
        self._act("finish", ref, done=("order not found", "order expired"))

    def request_another(self, ref: str) -> None:
        """Nothing to ask: 5sim adds every SMS that reaches the number to the open order."""

    # -- catalogue and account ---------------------------------------------------------

    def prices(self) -> list[Quote]:
        table = self._get("/v1/guest/prices", auth=False)
        if not isinstance(table, dict):
            raise RetryableProviderError("prices: unexpected shape")
        ids = country_ids()
        quotes = []
        for slug, products in table.items():
            for country_id in ids.get(slug, ()):
                quotes.extend(_quotes(country_id, products))
        return quotes

    def balance(self) -> Decimal:
        profile = self._get("/v1/user/profile")
        try:
            return to_decimal(profile["balance"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RetryableProviderError("profile: no readable balance") from exc


def _quotes(country_id: int, products: Any) -> list[Quote]:
    """One country of the guest price table: product -> operator -> {cost, count}."""
    if not isinstance(products, dict):
        return []
    quotes = []
    for product, operators in products.items():
        service = SERVICES.get(product)
        if service is None or not isinstance(operators, dict):
            continue
        for operator, row in operators.items():
            try:
                cost, stock = to_decimal(row["cost"]), int(row.get("count", 0))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            quotes.append(Quote(service, country_id, operator, cost, stock))
    return quotes
