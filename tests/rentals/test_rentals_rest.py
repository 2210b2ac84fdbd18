"""REST /api/v1/rentals: rent, read every SMS, extend after a price check, finish, cancel."""

from __future__ import annotations

from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import Event, Rental
from tests.factories import assert_ledger_exact, balance

from .conftest import paid_for, refunds_of, started_ago


def price(client, account, hours: int = 4, service: str = "wa") -> Decimal:
    rows = client.get(
        f"/api/v1/catalog/rent-prices?serviceCode={service}&countryIso=GB&hours={hours}", headers=account.headers
    )
    return Decimal(rows.json[0]["price"])


def test_a_rental_is_paid_up_front_and_answers_with_its_number(client, make_user, rent):
    account = make_user("20.00")
    cost = price(client, account)
    rental = rent(account)
    assert rental["_status"] == 201 and rental["status"] == "WAITING" and rental["active"] is True
    assert rental["id"].startswith("rnt_") and rental["phoneNumber"].startswith("44")
    assert (rental["hours"], Decimal(rental["userCost"]), rental["sms"]) == (4, cost, [])
    assert rental["cancelableUntil"] is not None
    assert balance(account) == Decimal("20.00") - cost
    assert_ledger_exact(account)


def test_every_sms_is_shown_with_the_rental_and_the_list_is_newest_first(client, make_user, rent, deliver):
    account = make_user("20.00")
    first, second = rent(account), rent(account, serviceCode="full", hours=24)
    deliver()
    shown = client.get(f"/api/v1/rentals/{first['id']}", headers=account.headers).json
    assert shown["status"] == "RECEIVED" and shown["cancelableUntil"] is None
    [sms] = shown["sms"]
    assert sms["code"] in sms["text"] and (sms["service"], sms["sender"]) == ("wa", "WA")
    listed = client.get("/api/v1/rentals", headers=account.headers)
    assert [row["id"] for row in listed.json] == [second["id"], first["id"]] and "sms" not in listed.json[0]
    assert client.get("/api/v1/rentals?status=CANCELED", headers=account.headers).json == []


def test_an_extension_is_quoted_then_paid_and_moves_the_end(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    quote = client.get(f"/api/v1/rentals/{rental['id']}/extension?hours=24", headers=account.headers).json
    assert Decimal(quote["price"]) == price(client, account, 24) and quote["hours"] == 24
    too_low = client.post(
        f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 24, "maxPrice": "0.01"}, headers=account.headers
    )
    assert too_low.status_code == 409 and too_low.json["error"] == "max_price_too_low"
    extended = client.post(
        f"/api/v1/rentals/{rental['id']}/extend",
        json={"hours": 24, "maxPrice": quote["price"]},
        headers=account.headers,
    ).json
    assert extended["endsAt"] == quote["endsAt"] and extended["hours"] == 28
    assert Decimal(extended["userCost"]) == Decimal(rental["userCost"]) + Decimal(quote["price"])
    assert paid_for(rental["legacyId"]) == Decimal(extended["userCost"])
    assert_ledger_exact(account)


def test_finishing_ends_the_rental_without_a_refund_and_tells_the_upstream(client, make_user, rent, deliver):
    account = make_user("20.00")
    rental = rent(account)
    deliver()
    finished = client.post(f"/api/v1/rentals/{rental['id']}/finish", headers=account.headers)
    assert finished.status_code == 200 and finished.json["status"] == "FINISHED"
    again = client.post(f"/api/v1/rentals/{rental['id']}/finish", headers=account.headers)
    assert again.status_code == 409 and again.json["error"] == "rental_finished"
    assert refunds_of(rental["legacyId"]) == []
    with db.connection_context():
        assert Rental.get_by_id(rental["legacyId"]).provider_action is None  # the finish reached the upstream


def test_a_cancel_within_twenty_minutes_before_any_sms_refunds_in_full(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    started_ago(rental["legacyId"], 19)
    cancelled = client.post(f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers).json
    assert cancelled["status"] == "CANCELED" and cancelled["active"] is False
    assert refunds_of(rental["legacyId"]) == [Decimal(rental["userCost"])]
    assert balance(account) == Decimal("20.00")
    again = client.post(f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers)
    assert again.status_code == 409 and again.json["error"] == "rental_canceled"
    assert_ledger_exact(account)


def test_no_refund_after_twenty_minutes_or_after_an_sms(client, make_user, rent, deliver):
    account = make_user("20.00")
    late, used = rent(account), rent(account)
    started_ago(late["legacyId"], 20)
    deliver()  # both get an SMS...
    with db.connection_context():  # ...but the late one is taken back to "no SMS yet" to show the time rule alone
        Rental.update(status="WAITING").where(Rental.id == late["legacyId"]).execute()
    for rental in (late, used):
        refused = client.post(f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers)
        assert refused.status_code == 409 and refused.json["error"] == "cancel_window_over"
    assert refunds_of(late["legacyId"]) == refunds_of(used["legacyId"]) == []
    assert_ledger_exact(account)


def test_a_cancel_after_an_extension_refunds_the_extension_too(client, make_user, rent):
    account = make_user("20.00")
    rental = rent(account)
    client.post(f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4}, headers=account.headers)
    client.post(f"/api/v1/rentals/{rental['id']}/cancel", headers=account.headers)
    assert sum(refunds_of(rental["legacyId"])) == paid_for(rental["legacyId"])
    assert balance(account) == Decimal("20.00")
    assert_ledger_exact(account)


def test_refusals_answer_their_errors_and_move_no_money(client, make_user, rent):
    account, poor = make_user("20.00"), make_user("0.50")
    cases = [
        (rent(poor), 402, "insufficient_balance"),
        (rent(account, serviceCode="zzzz"), 404, "unknown_service"),
        (rent(account, countryIso="TR"), 503, "no_numbers"),
        (rent(account, maxPrice="0.01"), 409, "max_price_too_low"),
        (rent(account, hours=0), 422, "validation_error"),
        (rent(account, hours=1345), 409, "max_hours_exceeded"),
        (rent(account, countryIso="GB", countryId=16), 422, "validation_error"),
    ]
    for answer, status, error in cases:
        assert (answer["_status"], answer["error"]) == (status, error)
    assert balance(account) == Decimal("20.00") and balance(poor) == Decimal("0.50")
    other = rent(make_user("20.00"))
    for path in (f"/api/v1/rentals/{other['id']}", "/api/v1/rentals/rnt_nothing", "/api/v1/rentals/999"):
        assert client.get(path, headers=account.headers).status_code == 404
    assert client.post(f"/api/v1/rentals/{other['id']}/cancel", headers=account.headers).status_code == 404


def test_extending_beyond_the_longest_rental_is_refused_with_what_may_still_be_added(client, make_user, rent):
    account = make_user("500.00")
    rental = rent(account, hours=1340)
    refused = client.get(f"/api/v1/rentals/{rental['id']}/extension?hours=5", headers=account.headers)
    assert refused.status_code == 409 and refused.json["maxHours"] == 4


def test_a_repeated_idempotency_key_rents_once(client, make_user):
    account = make_user("20.00")
    headers = {**account.headers, "Idempotency-Key": "rent-1"}
    body = {"serviceCode": "wa", "countryIso": "GB", "hours": 4}
    first = client.post("/api/v1/rentals", json=body, headers=headers).json
    second = client.post("/api/v1/rentals", json=body, headers=headers).json
    assert first["id"] == second["id"]
    assert paid_for(first["legacyId"]) == Decimal(first["userCost"])


def test_every_change_of_a_rental_appends_its_event(client, make_user, rent, deliver):
    account = make_user("20.00")
    rental = rent(account)
    deliver()
    client.post(f"/api/v1/rentals/{rental['id']}/extend", json={"hours": 4}, headers=account.headers)
    client.post(f"/api/v1/rentals/{rental['id']}/finish", headers=account.headers)
    with db.connection_context():
        types = [e.type for e in Event.select().where(Event.rental == rental["legacyId"]).order_by(Event.id)]
    assert types == [
        "rental.created",
        "ledger.entry",
        "rental.number_assigned",
        "rental.sms_received",
        "ledger.entry",
        "rental.extended",
        "rental.finished",
    ]


def test_renting_needs_the_purchase_scope_and_reading_the_read_scope(client, legacy, make_user, rent):
    owner = make_user("20.00")
    rental = rent(owner)

    def key(*scopes: str) -> str:
        made = client.post("/api/v1/keys", json={"scopes": list(scopes)}, headers=owner.headers)
        return made.json["secret"]

    reader, buyer = key("read"), key("purchase")
    body = {"serviceCode": "wa", "countryIso": "GB", "hours": 4}
    refused = client.post("/api/v1/rentals", json=body, headers={"x-api-key": reader})
    assert refused.status_code == 403 and refused.json["scope"] == "purchase"
    for action in ("cancel", "finish"):
        assert client.post(f"/api/v1/rentals/{rental['id']}/{action}", headers={"x-api-key": reader}).status_code == 403
    assert client.get(f"/api/v1/rentals/{rental['id']}", headers={"x-api-key": reader}).status_code == 200
    assert client.get(f"/api/v1/rentals/{rental['id']}", headers={"x-api-key": buyer}).status_code == 403
    assert legacy.text(reader, "getRentNumber", service="wa", country="16") == "BAD_KEY"  # plain, as on the rent side
    assert legacy.text(reader, "getRentStatus", id=str(rental["legacyId"])).startswith('{"status":"error"')
    assert legacy.text(buyer, "setRentStatus", id=str(rental["legacyId"]), status="1") == '{"status":"success"}'
    assert balance(owner) == Decimal("20.00") - Decimal(rental["userCost"])
