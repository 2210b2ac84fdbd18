"""Money policy: Decimal end to end, whole cents for everything a user sees.

Floats never enter: `to_money` refuses them, because `Decimal(0.23)` carries the
binary error of the float into the ledger.
"""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import peewee

CENT = Decimal("0.01")
# The one rounding mode of the project; applied once, when a user price is set.
ROUNDING = ROUND_HALF_UP
MAX_AMOUNT = Decimal("1000000000")


def to_money(value: object) -> Decimal:
    """Parse a user or config value as an exact Decimal; raise ValueError if it is not one."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    if isinstance(value, Decimal):
        amount = value
    else:
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError) as exc:
            raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"not an amount: {value!r}")
    return amount


# What a user may give as a price limit (REST and legacy maxPrice): a decimal string of at most
# two decimals, from 0 to MAX_PRICE. One rule, stated once: the OpenAPI document publishes this
# pattern, and both API styles parse with parse_amount().
MAX_PRICE = Decimal("100000")
AMOUNT_PATTERN = r"^(100000(\.0+)?|[0-9]{1,5}(\.[0-9]{1,2}0*)?)$"  # zeros after the cents are no decimals
AMOUNT_RULE = 'a decimal string such as "0.50": at most 2 decimals, from 0 to 100000'
_AMOUNT = re.compile(AMOUNT_PATTERN)


class AmountError(ValueError):
    """A user-given amount that breaks the rule above; its text says what the rule is."""


def parse_amount(text: object) -> Decimal:
    """A user-given amount as an exact Decimal, or AmountError.

    Only strings: a JSON number has already been through a float (0.30000000000000004), and a
    value with more decimals than cents cannot be charged; both are refused, not rounded."""
    if not isinstance(text, str) or not _AMOUNT.fullmatch(text.strip()):
        raise AmountError(f"must be {AMOUNT_RULE}")
    return Decimal(text.strip()).quantize(CENT)


def quantize_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUNDING)


def format_json(amount: Decimal) -> str:
    """ "10.00": the REST representation of an amount."""
    return f"{quantize_cents(amount):f}"


def format_legacy(amount: Decimal) -> str:
    """The legacy protocol's balance: always a decimal point, never an exponent."""
    return f"{quantize_cents(amount):f}"


class MoneyField(peewee.BigIntegerField):
    """A Decimal stored as an exact integer of 10^-places units (cents by default).

    Exact on SQLite and PostgreSQL alike, and `balance - price` stays computable in SQL.
    """

    def __init__(self, places: int = 2, **kwargs):
        self.places = places
        self.scale = Decimal(10) ** places
        super().__init__(**kwargs)

    def db_value(self, value):
        if value is None or isinstance(value, peewee.Node):
            return value
        units = to_money(value) * self.scale
        if units != units.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(units)

    def python_value(self, value):
        if value is None:
            return None
        return (Decimal(int(value)) / self.scale).quantize(Decimal(1) / self.scale)
