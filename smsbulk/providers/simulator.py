"""The built-in simulator: the embedded default provider, and the test and load-test double.

It behaves like an upstream: real-looking mobile numbers for each country (right
dialling code and length, from libphonenumber's metadata), a code some seconds after
purchase or after a request for another code, configurable failure rates, and stock.
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
    CANCELED,
    FINISHED,
    RECEIVED,
    WAITING,
    Message,
    NoNumbersError,
    ProviderAdapter,
    Purchase,
    Quote,
    RetryableProviderError,
    Status,
)

# Popular services stocked in every country (SPEC "Providers and workers").
POPULAR_SERVICES = ("wa", "tg", "go", "ig", "fb", "vk", "tw", "ds", "oi", "am", "mm", "ot")
STOCK = 500
KEY_TTL = 2 * 24 * 3600


# KEYS[1] the sequence of refs; ARGV: the number keys' prefix, the state, its time to live.
# The next ref and the number's state in one round trip: a purchase's only upstream call.
_BUY_SCRIPT = """
local ref = tostring(redis.call('INCR', KEYS[1]) + 100000)
redis.call('SET', ARGV[1] .. ref, ARGV[2], 'EX', ARGV[3])
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


@functools.lru_cache(maxsize=1 << 16)
def _code(ref: str, n: int) -> str:
    """The n-th code sent to a number, the same on every poll. Seeding a Random costs more than
    the rest of answering a poll for it, and every open number is polled every cycle."""
    return str(random.Random(f"{ref}:{n}").randrange(100000, 1000000))


def base_cost(service: str, country_id: int) -> Decimal:
    """A stable wholesale price per (service, country): 0.0800 to 0.7990."""
    digest = hashlib.sha256(f"{service}:{country_id}".encode()).digest()
    return Decimal(80 + int.from_bytes(digest[:2]) % 720) / Decimal(1000)


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
    ) -> None:
        self.redis = connection
        self.countries = countries  # id -> ISO alpha-2
        self.sms_delay = sms_delay
        self.no_numbers_rate = no_numbers_rate
        self.error_rate = error_rate
        self.prefix = f"sim:{name}:"
        self._buy = connection.register_script(_BUY_SCRIPT)  # EVALSHA, loading it on NOSCRIPT

    def _key(self, ref: str) -> str:
        return self.prefix + ref

    def buy(self, service, country_id, operator, max_cost, reference):
        iso2 = self.countries.get(country_id)
        if iso2 is None or service not in POPULAR_SERVICES:
            raise NoNumbersError(f"no {service} numbers in {country_id}")
        roll = random.random()
        if roll < self.error_rate:
            raise RetryableProviderError("simulated upstream error")
        if roll < self.error_rate + self.no_numbers_rate:
            raise NoNumbersError("simulated: no numbers")
        cost = base_cost(service, country_id)
        phone = mobile_number(iso2)
        state = {"phone": phone, "service": service, "state": WAITING, "sent": [time.time()]}
        ref = self._buy([self.prefix + "seq"], [self.prefix, json.dumps(state), KEY_TTL])
        return Purchase(ref=ref.decode() if isinstance(ref, bytes) else str(ref), phone=phone, cost=cost)

    def _load(self, ref: str) -> dict | None:
        raw = self.redis.get(self._key(ref))
        return json.loads(raw) if raw else None

    def _save(self, ref: str, state: dict) -> None:
        self.redis.set(self._key(ref), json.dumps(state), ex=KEY_TTL)

    def statuses(self, refs):
        if not refs:
            return {}
        raws = self.redis.mget([self._key(r) for r in refs])
        now = time.time()
        answer = {}
        for ref, raw in zip(refs, raws, strict=True):
            if raw is None:
                continue
            state = json.loads(raw)
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
    def _message(ref: str, service: str, n: int, at: float) -> Message:
        code = _code(ref, n)
        when = datetime.datetime.fromtimestamp(at, datetime.UTC).replace(tzinfo=None)
        text = f"Your {service.upper()} verification code is {code}. Do not share it."
        return Message(id=f"{ref}-{n}", text=text, code=code, received_at=when)

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
