"""A client of the SMS-Activate "handler_api" protocol (HeroSMS, GrizzlySMS, SMSBower, SMSHub,
DaisySMS, another SMSBulk): a base URL and an API key.

Answers are HTTP 200 with a plain token (`ACCESS_NUMBER:id:phone`, `NO_NUMBERS`) or JSON; some
clones send errors as 4xx with a JSON envelope, read the same way. The key travels in the query
string (the one place every clone accepts it) and requests puts URLs into its exception texts, so
transport failures are re-told with the key scrubbed out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import requests

from .base import (
    DEFAULT_TIMEOUT,
    ProviderAdapter,
    ProviderError,
    Purchase,
    Quote,
    RetryableProviderError,
    Status,
)
from .http import fetch, status_error, to_decimal, transport_error
from .sms_activate_answers import (
    active_row_status,
    active_rows,
    country_quotes,
    extract_token,
    read_purchase,
    status_from_token,
    token_error,
)
from .sms_activate_rent import RentActions

__all__ = ["SmsActivateProvider", "normalise_base_url", "transport_error"]

HANDLER_PATH = "/stubs/handler_api.php"
STATUS_WORKERS = 8  # parallel getStatus calls for refs missing from the active list
# getActiveActivations pages where the upstream pages (SMSBulk: 500 rows, HeroSMS: 100); a page
# shorter than the smallest known page size is the last one.
ACTIVE_PAGE_LIMIT = 500
SMALLEST_ACTIVE_PAGE = 100
MAX_ACTIVE_PAGES = 40


def normalise_base_url(base_url: str) -> str:
    """The handler URL, whether the operator pasted the host or the full endpoint."""
    url = base_url.strip().rstrip("/")
    if url.endswith(HANDLER_PATH):
        url = url[: -len(HANDLER_PATH)]
    return url + HANDLER_PATH


class SmsActivateProvider(RentActions, ProviderAdapter):
    kind = "sms-activate"

    def __init__(
        self, base_url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None
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
            token = extract_token(body)
            if token is None:
                raise status_error(status, purchase=purchase, label=action)
            return token
        return body

    def _json(self, action: str, **params: Any) -> Any:
        body = self._call(action, **params)
        if not body.startswith(("{", "[")):
            raise token_error(body, purchase=False, label=action)
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
        ref, phone, cost = read_purchase(body, label)
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

    def open_purchases(self, service: str, country_id: int) -> list[Purchase]:
        """Numbers for (service, country) held open for us and still without an SMS.

        The active list does not repeat the orderId we sent, so a purchase whose answer was
        lost is found as an open activation our records do not know (the caller filters)."""
        found = []
        for row in self._active_list(set()):
            if str(row.get("serviceCode")) != service or str(row.get("countryCode")) != str(country_id):
                continue
            if row.get("smsCode") or not str(row.get("phoneNumber") or "").strip("+").isdigit():
                continue
            try:
                cost = to_decimal(row.get("activationCost", "0"))
            except ValueError:
                cost = Decimal("0")
            found.append(Purchase(str(row["activationId"]), str(row["phoneNumber"]).lstrip("+"), cost))
        return found

    # -- status ------------------------------------------------------------------------

    def statuses(self, refs: list[str]) -> dict[str, Status]:
        if not refs:
            return {}
        active = self._active_statuses(set(refs))
        answer = {ref: active[ref] for ref in refs if ref in active}
        missing = [ref for ref in refs if ref not in active]
        found, errors = self._statuses_one_by_one(missing)
        answer.update(found)
        if errors and not answer:  # nothing learnt and calls failed: the upstream is in trouble
            raise errors[0]
        return answer

    def _active_statuses(self, wanted: set[str]) -> dict[str, Status]:
        return {str(row["activationId"]): active_row_status(row) for row in self._active_list(wanted)}

    def _active_list(self, wanted: set[str]) -> list[dict]:
        """The upstream's open activations, in one getActiveActivations call where it answers all
        at once; pages follow only while wanted refs are missing and the pages bring new rows."""
        rows: dict[str, dict] = {}
        for _ in range(MAX_ACTIVE_PAGES if self._has_active_list is not False else 0):
            page = self._active_page(len(rows))
            fresh = {str(r["activationId"]): r for r in page if str(r["activationId"]) not in rows}
            rows.update(fresh)
            if not fresh or len(page) < SMALLEST_ACTIVE_PAGE or wanted <= rows.keys():
                break
        return list(rows.values())

    def _active_page(self, start: int) -> list[dict]:
        # `start`/`limit` are ignored by upstreams that do not page: they answer the whole list.
        body = self._call("getActiveActivations", start=start or None, limit=ACTIVE_PAGE_LIMIT)
        if body == "BAD_ACTION":
            self._has_active_list = False
            return []
        self._has_active_list = True
        if body == "NO_ACTIVATIONS":  # the docs' plain form of "nothing open"
            return []
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError as exc:
            raise RetryableProviderError("getActiveActivations: unreadable answer") from exc
        if isinstance(data, dict) and data.get("status") == "error":
            if "NO_ACTIVATIONS" in (data.get("error"), data.get("message")):
                return []
            raise token_error(body, purchase=False, label="getActiveActivations")
        return active_rows(data)

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
            return status_from_token(ref, self._call("getStatus", id=ref))
        except ProviderError as exc:
            return exc

    # -- changing an activation --------------------------------------------------------

    def _set_status(self, ref: str, status: int, expected: str, done: Iterable[str] = ()) -> None:
        body = self._call("setStatus", id=ref, status=status)
        if body == expected or body.partition(":")[0] in done:
            return
        raise token_error(body, purchase=False, label=f"setStatus {status}")

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
        return [q for country, services in table.items() for q in country_quotes(country, services)]

    def balance(self) -> Decimal:
        body = self._call("getBalance")
        token, _, amount = body.partition(":")
        if token != "ACCESS_BALANCE":
            raise token_error(body, purchase=False, label="getBalance")
        try:
            return to_decimal(amount)
        except ValueError as exc:
            raise RetryableProviderError("getBalance: unreadable amount") from exc
