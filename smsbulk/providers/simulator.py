"""The built-in simulator: the embedded default provider, and the test and load-test double.

It behaves like an upstream: real-looking mobile numbers for each country (right
dialling code and length, from libphonenumber's metadata), a code some seconds after
purchase or after a request for another code, configurable failure rates, and stock.
It rents numbers by the hour in the countries SMS-Activate rented in: a rented number gets
its first SMS after the same delay, then one every `rent_sms_every` seconds until it ends.
A completed activation's number can be bought again for the same service (reactivation).
Its state lives in Redis so the web, worker and cron processes see the same numbers.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import random
import time
from decimal import Decimal

import phonenumbers
import redis

from .base import (
    ACTIVE,
    CANCELED,
    FINISHED,
    RECEIVED,
    REVOKED,
    WAITING,
    Message,
    NoNumbersError,
    PermanentProviderError,
    PriceTooHighError,
    ProviderAdapter,
    Purchase,
    Quote,
    Rented,
    RentQuote,
    RentStatus,
    RetryableProviderError,
    Status,
)

# Popular services stocked in every country (SPEC "Providers and workers").
POPULAR_SERVICES = ("wa", "tg", "go", "ig", "fb", "vk", "tw", "ds", "oi", "am", "mm", "ot")
STOCK = 500
KEY_TTL = 2 * 24 * 3600
# Numbers are rented where SMS-Activate rented them (reference, Appendix A: rent=1), for the popular
# services and `full` (every service's SMS).
RENT_COUNTRIES = frozenset(
    (0, 1, 2, 6, 7, 14, 15, 16, 23, 24, 32, 34, 43, 44, 45, 46, 48, 49, 50, 52, 56, 59, 63, 73, 77, 78, 83, 85, 86)
    + (117, 129, 163, 172)
)
RENT_SERVICES = (*POPULAR_SERVICES, "full")
RENT_STOCK = 100


# KEYS[1] the sequence of refs; ARGV: the keys' prefix, the state, its time to live, the time in
# milliseconds, the buyer's reference. The next ref, the number's state and which ref the reference
# bought, in one round trip: a purchase's only upstream call. A sequence that does not exist (a
# new simulator, or a Redis that restarted without its data) starts at the time in milliseconds
# times 1000, above every ref it gave before (that would take a thousand purchases a millisecond):
# refs never repeat.
_BUY_SCRIPT = """
local ref = string.format('%.0f', redis.call('INCR', KEYS[1]))
if ref == '1' then
  ref = ARGV[4] .. '000'
  redis.call('SET', KEYS[1], ref)
end
redis.call('SET', ARGV[1] .. ref, ARGV[2], 'EX', ARGV[3])
if ARGV[5] ~= '' then redis.call('SET', ARGV[1] .. 'order:' .. ARGV[5], ref, 'EX', ARGV[3]) end
return ref
"""


@functools.lru_cache(maxsize=512)
def _mobile_pattern(iso2: str) -> tuple[str, int]:
    """The dialling code and mobile prefix of a country's numbers, and how many digits follow:
    from libphonenumber's example number, which takes longer to look up than the rest of a buy."""
    example = phonenumbers.example_number_for_type(iso2, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:  # territories without metadata: a plausible 8-digit number
        return str(phonenumbers.country_code_for_region(iso2) or 999), 8
    national = str(example.national_number)
    keep = min(3, len(national) - 4)
    return f"{example.country_code}{national[:keep]}", len(national) - keep


def mobile_number(iso2: str) -> str:
    """A number with the country's dialling code and a mobile prefix, digits only."""
    head, digits = _mobile_pattern(iso2)
    return f"{head}{random.randrange(10**digits):0{digits}d}"


def _code(ref: str, n: int) -> str:
    """The n-th code sent to a number, the same on every poll, drawn from the ref's place in its
    sequence (the sequence starts at a multiple of 1000) so a run's codes do not depend on the
    clock."""
    return _drawn(100001 + int(ref) % 1000 if ref.isdigit() else ref, n)


@functools.lru_cache(maxsize=1 << 16)
def _drawn(seed: int | str, n: int) -> str:
    """Seeding a Random costs more than the rest of answering a poll for a number, and every open
    number is polled every cycle: cached by seed (a thousand of them), not by ref (one per number,
    more than the cache holds with 100,000 open)."""
    return str(random.Random(f"{seed}:{n}").randrange(100000, 1000000))


def base_cost(service: str, country_id: int) -> Decimal:
    """A stable wholesale price per (service, country): 0.0800 to 0.7990."""
    digest = hashlib.sha256(f"{service}:{country_id}".encode()).digest()
    return Decimal(80 + int.from_bytes(digest[:2]) % 720) / Decimal(1000)


def rent_cost(service: str, country_id: int, hours: int) -> Decimal:
    """A rental's wholesale price: a fixed part and a part per hour, so longer is cheaper per hour."""
    return (base_cost(service, country_id) * (2 + Decimal(hours) / 2)).quantize(Decimal("0.0001"))


def _moment(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None)


class SimulatorProvider(ProviderAdapter):
    kind = "simulator"

    def __init__(
        self,
        connection: redis.Redis,
        countries: dict[int, str],
        sms_delay: float = 5.0,
        no_numbers_rate: float = 0.0,
        error_rate: float = 0.0,
        name: str = "simulator",
        rent_sms_every: float = 60.0,
    ) -> None:
        self.redis = connection
        self.countries = countries  # id -> ISO alpha-2
        self.sms_delay = sms_delay
        self.no_numbers_rate = no_numbers_rate
        self.error_rate = error_rate
        self.rent_sms_every = rent_sms_every
        self.prefix = f"sim:{name}:"
        self._buy = connection.register_script(_BUY_SCRIPT)  # EVALSHA, loading it on NOSCRIPT

    def _key(self, ref: str) -> str:
        return self.prefix + ref

    def _roll(self) -> None:
        """The configured share of failures, as an upstream would answer them."""
        roll = random.random()
        if roll < self.error_rate:
            raise RetryableProviderError("simulated upstream error")
        if roll < self.error_rate + self.no_numbers_rate:
            raise NoNumbersError("simulated: no numbers")

    def _new(self, state: dict, ttl: float, reference: str = "") -> str:
        """A new ref holding `state` (and the buyer's reference pointing at it), in one round trip."""
        args = [self.prefix, json.dumps(state), int(ttl), int(time.time() * 1000), reference or ""]
        ref = self._buy([self.prefix + "seq"], args)
        return ref.decode() if isinstance(ref, bytes) else str(ref)

    def buy(self, service, country_id, operator, max_cost, reference):
        iso2 = self.countries.get(country_id)
        if iso2 is None or service not in POPULAR_SERVICES:
            raise NoNumbersError(f"no {service} numbers in {country_id}")
        self._roll()
        cost = base_cost(service, country_id)
        phone = mobile_number(iso2)
        now = time.time()
        state = {"phone": phone, "service": service, "country": country_id, "state": WAITING, "sent": [now]}
        return Purchase(ref=self._new(state, KEY_TTL, reference), phone=phone, cost=cost)

    def purchase_for(self, reference, service, country_id):
        ref = self.redis.get(self.prefix + "order:" + reference)
        if ref is None:
            return None  # the buy script records the number and the reference together
        ref = ref.decode()
        state = self._load(ref)
        if state is None:
            return None
        return Purchase(
            ref=ref, phone=state["phone"], cost=base_cost(state["service"], state.get("country", country_id))
        )

    def _load(self, ref: str) -> dict | None:
        raw = self.redis.get(self._key(ref))
        return json.loads(raw) if raw else None

    def _save(self, ref: str, state: dict) -> None:
        self.redis.set(self._key(ref), json.dumps(state), ex=KEY_TTL)

    def _states(self, refs: list[str]):
        """(ref, state) of the refs it knows, read in one round trip."""
        if not refs:
            return
        for ref, raw in zip(refs, self.redis.mget([self._key(r) for r in refs]), strict=True):
            if raw is not None:  # decoded first: json.loads(bytes) detects the encoding, a third slower
                yield ref, json.loads(raw.decode())

    def statuses(self, refs):
        now = time.time()
        answer = {}
        for ref, state in self._states(refs):
            messages = [
                self._message(ref, state["service"], n, asked + self.sms_delay)
                for n, asked in enumerate(state["sent"])
                if asked + self.sms_delay <= now
            ]
            kind = state["state"]
            if kind == WAITING and messages:
                kind = RECEIVED
            answer[ref] = Status(state=kind, messages=messages)
        return answer

    @staticmethod
    def _message(ref: str, service: str, n: int, at: float, sender: str | None = None) -> Message:
        code = _code(ref, n)
        text = f"Your {service.upper()} verification code is {code}. Do not share it."
        if sender is None:
            return Message(id=f"{ref}-{n}", text=text, code=code, received_at=_moment(at))
        return Message(f"{ref}-{n}", text, code, _moment(at), sender=sender, service=service)

    def _set_state(self, ref: str, new: str) -> None:
        state = self._load(ref)
        if state is not None:
            state["state"] = new
            self._save(ref, state)

    def cancel(self, ref):
        self._set_state(ref, CANCELED)

    def finish(self, ref):
        self._set_state(ref, FINISHED)

    def request_another(self, ref):
        state = self._load(ref)
        if state is not None:
            state["sent"].append(time.time())
            self._save(ref, state)

    def prices(self):
        return [
            Quote(service, country_id, "any", base_cost(service, country_id), STOCK)
            for country_id in sorted(self.countries)
            for service in POPULAR_SERVICES
        ]

    def balance(self):
        return Decimal("1000000.00")

    # -- rentals -------------------------------------------------------------------------

    def rent_prices(self, hours):
        return [
            RentQuote(service, country_id, "any", length, rent_cost(service, country_id, length), RENT_STOCK)
            for country_id in sorted(RENT_COUNTRIES & set(self.countries))
            for service in RENT_SERVICES
            for length in hours
        ]

    def rent(self, service, country_id, operator, hours, max_cost, reference):
        iso2 = self.countries.get(country_id)
        if iso2 is None or country_id not in RENT_COUNTRIES or service not in RENT_SERVICES:
            raise NoNumbersError(f"no {service} rentals in {country_id}")
        self._roll()
        cost = rent_cost(service, country_id, hours)
        if max_cost is not None and cost > max_cost:
            raise PriceTooHighError(f"rental costs {cost}, above {max_cost}")
        now = time.time()
        state = {"kind": "rent", "phone": mobile_number(iso2), "service": service, "country": country_id}
        state |= {"state": ACTIVE, "start": now, "end": now + hours * 3600, "every": self.rent_sms_every}
        ref = self._new(state, hours * 3600 + KEY_TTL)
        return Rented(ref=ref, phone=state["phone"], cost=cost, ends_at=_moment(state["end"]))

    def rent_statuses(self, refs):
        now = time.time()
        return {
            ref: self._rent_status(ref, state, now) for ref, state in self._states(refs) if state.get("kind") == "rent"
        }

    def _rent_status(self, ref: str, state: dict, now: float) -> RentStatus:
        until = min(now, state["end"], state.get("stopped", now))
        messages, k, every = [], 0, state["every"]
        while (at := state["start"] + self.sms_delay + k * every) <= until and (k == 0 or every > 0):
            # A `full` rental gets every service's SMS: the popular ones in turn.
            service = state["service"] if state["service"] != "full" else POPULAR_SERVICES[k % len(POPULAR_SERVICES)]
            messages.append(self._message(ref, service, k, at, sender=service.upper()))
            k += 1
        kind = state["state"]
        if kind == ACTIVE and now >= state["end"]:
            kind = FINISHED
        return RentStatus(kind, messages, _moment(state["end"]))

    def _rental(self, ref: str) -> dict:
        state = self._load(ref)
        if state is None or state.get("kind") != "rent":
            raise PermanentProviderError(f"no rental {ref}")
        return state

    def _active_rental(self, ref: str) -> dict:
        state = self._rental(ref)
        if state["state"] != ACTIVE or time.time() >= state["end"]:
            raise PermanentProviderError(f"rental {ref} is over")
        return state

    def extension_cost(self, ref, hours):
        state = self._active_rental(ref)
        return rent_cost(state["service"], state["country"], hours)

    def extend_rent(self, ref, hours, max_cost):
        state = self._active_rental(ref)
        cost = rent_cost(state["service"], state["country"], hours)
        if max_cost is not None and cost > max_cost:
            raise PriceTooHighError(f"extension costs {cost}, above {max_cost}")
        state["end"] += hours * 3600
        self.redis.set(self._key(ref), json.dumps(state), ex=int(state["end"] - time.time()) + KEY_TTL)
        return Rented(ref=ref, phone=state["phone"], cost=cost, ends_at=_moment(state["end"]))

    def _stop(self, ref: str, new: str) -> None:
        state = self._rental(ref)
        if state["state"] == ACTIVE:
            state |= {"state": new, "stopped": time.time()}
            self.redis.set(self._key(ref), json.dumps(state), ex=KEY_TTL)

    def finish_rent(self, ref):
        self._stop(ref, FINISHED)

    def cancel_rent(self, ref):
        self._stop(ref, CANCELED)

    def revoke(self, ref: str) -> None:
        """The upstream takes a rented number back before its end (what tests and demos script)."""
        self._stop(ref, REVOKED)

    # -- reactivation --------------------------------------------------------------------

    def _completed(self, ref: str, phone: str) -> dict:
        state = self._load(ref)
        if state is None or state.get("kind") == "rent" or state["phone"] != phone or state["state"] != FINISHED:
            raise NoNumbersError(f"number of {ref} cannot be reactivated")
        return state

    def reactivation_cost(self, ref, service, country_id, phone):
        self._completed(ref, phone)
        return base_cost(service, country_id)

    def reactivate(self, ref, service, country_id, phone, max_cost, reference):
        self._completed(ref, phone)
        cost = base_cost(service, country_id)
        if max_cost is not None and cost > max_cost:
            raise PriceTooHighError(f"reactivation costs {cost}, above {max_cost}")
        new = self._new({"phone": phone, "service": service, "state": WAITING, "sent": [time.time()]}, KEY_TTL)
        return Purchase(ref=new, phone=phone, cost=cost)
