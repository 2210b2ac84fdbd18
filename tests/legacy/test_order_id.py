"""Legacy orderId under the rule of REST's Idempotency-Key: one orderId, one request."""

from __future__ import annotations

from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Activation
from tests.factories import assert_ledger_exact, balance


def bought(account) -> int:
    with db.connection_context():
        return Activation.select().where(Activation.user == account.user.id).count()


def test_get_number_with_the_same_order_id_and_another_request_is_refused(legacy, make_user):
    account = make_user()
    first = legacy(account.key, "getNumber", service="wa", country="62", orderId="bot-1")
    assert first.data.startswith(b"ACCESS_NUMBER:")
    other = legacy(account.key, "getNumber", service="fb", country="187", orderId="bot-1")
    assert (other.status_code, other.data, other.headers["X-Status-Code"]) == (200, b"ORDER_ALREADY_EXISTS", "422")
    assert bought(account) == 1
    cost = Decimal("10.00") - balance(account)
    assert cost > 0
    assert_ledger_exact(account)


def test_get_number_repeated_gets_the_first_answer_by_get_or_post(legacy, make_user):
    account = make_user()
    first = legacy(account.key, "getNumber", service="wa", country="62", orderId="bot-1")
    again = legacy(account.key, "getNumber", method="POST", orderId="bot-1", country="62", service="wa")
    assert again.data == first.data and again.headers["X-Status-Code"] == first.headers["X-Status-Code"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert bought(account) == 1


def test_get_number_v2_repeated_is_order_already_exists_as_the_protocol_says(legacy, make_user):
    account = make_user()
    first = legacy(account.key, "getNumberV2", service="wa", country="62", orderId="bot-1")
    assert first.data.startswith(b"{")
    same = legacy(account.key, "getNumberV2", service="wa", country="62", orderId="bot-1")
    assert (same.data, same.headers["X-Status-Code"]) == (b"ORDER_ALREADY_EXISTS", "409")
    other = legacy(account.key, "getNumberV2", service="fb", country="187", orderId="bot-1")
    assert (other.data, other.headers["X-Status-Code"]) == (b"ORDER_ALREADY_EXISTS", "422")
    assert legacy(account.key, "getNumber", service="wa", country="62", orderId="bot-1").data == b"ORDER_ALREADY_EXISTS"
    assert bought(account) == 1


def test_an_order_id_and_a_rest_key_of_the_same_text_are_apart(client, legacy, make_user):
    account = make_user()
    assert legacy(account.key, "getNumber", service="wa", country="62", orderId="same").data.startswith(
        b"ACCESS_NUMBER"
    )
    rest = client.post(
        "/api/v1/activations",
        json={"serviceCode": "fb", "countryIso": "US"},
        headers={**account.headers, "Idempotency-Key": "same"},
    )
    assert rest.status_code == 201
    assert bought(account) == 2


def test_a_refused_purchase_keeps_no_order_id(legacy, make_user, runner):
    account = make_user("0.00")
    assert legacy(account.key, "getNumber", service="wa", country="62", orderId="bot-1").data == b"NO_BALANCE"
    runner.invoke(args=["wallet", "credit", account.user.email, "5"])
    assert legacy(account.key, "getNumber", service="fb", country="187", orderId="bot-1").data.startswith(
        b"ACCESS_NUMBER"
    )
