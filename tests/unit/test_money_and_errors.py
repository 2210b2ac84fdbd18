from decimal import Decimal

import pytest

from smsbulk.errors import ERROR_TABLE, DomainError, PriceTooHigh
from smsbulk.money import MoneyField, format_json, format_legacy, to_money


def test_floats_never_become_money():
    with pytest.raises(TypeError):
        to_money(0.1)
    with pytest.raises(TypeError):
        MoneyField().db_value(0.1)


@pytest.mark.parametrize("text", ["abc", "NaN", "Infinity", "1e400", "", "10000000000"])
def test_garbage_is_not_an_amount(text):
    with pytest.raises(ValueError):
        to_money(text)


def test_money_field_stores_exact_integer_units_and_refuses_fractions_of_its_unit():
    cents, fine = MoneyField(), MoneyField(places=4)
    assert cents.db_value(Decimal("10.05")) == 1005
    assert cents.python_value(1005) == Decimal("10.05")
    assert fine.db_value(Decimal("0.1234")) == 1234
    with pytest.raises(ValueError):
        cents.db_value(Decimal("0.001"))


def test_amounts_print_with_two_decimals_and_never_an_exponent():
    assert format_json(Decimal("10")) == "10.00"
    assert format_legacy(Decimal("1E+1")) == "10.00"
    assert format_legacy(Decimal("0.5")) == "0.50"


def test_every_error_has_a_unique_code_a_status_and_a_legacy_token():
    codes = [error.code for error in ERROR_TABLE]
    assert len(codes) == len(set(codes))
    for error in ERROR_TABLE:
        assert issubclass(error, DomainError)
        assert error.code and 400 <= error.http_status <= 599 and error.legacy_token.isupper()


def test_price_too_high_carries_the_minimum_in_its_legacy_answer():
    assert PriceTooHigh(minPrice="0.23").legacy_answer() == "WRONG_MAX_PRICE:0.23"
