"""Rentals are covered too: waiting for a rental's next SMS (REST and legacy), the events API's
rentalId filter, and webhooks of rental events."""

from __future__ import annotations

from workers.tasks import poll_statuses

from .conftest import events_of, register
from .test_waits import later, timed

UK = {"serviceCode": "wa", "countryIso": "GB", "hours": 4}


def rent(client, account) -> dict:
    answer = client.post("/api/v1/rentals", json=UK, headers=account.headers)
    assert answer.status_code == 201, answer.json
    return answer.json


def test_a_rental_wait_answers_when_its_next_sms_arrives(app, client, make_user):
    account = make_user("20.00")
    rental = rent(client, account)
    path = f"/api/v1/rentals/{rental['id']}"
    first = client.get(path, headers=account.headers)
    assert first.json["sms"] == [] and first.headers["ETag"]
    poller = later(app, 0.5, poll_statuses)
    answer, took = timed(
        lambda: client.get(path + "?wait=20", headers={**account.headers, "If-None-Match": first.headers["ETag"]})
    )
    poller.join()
    assert answer.status_code == 200 and len(answer.json["sms"]) == 1 and took < 10
    same = client.get(path + "?wait=1", headers={**account.headers, "If-None-Match": answer.headers["ETag"]})
    assert same.status_code == 304  # nothing new within the second


def test_legacy_get_rent_status_with_wait_answers_with_the_sms(app, client, make_user):
    account = make_user("20.00")
    rental = rent(client, account)
    base = f"/stubs/handler_api.php?api_key={account.key}&action=getRentStatus&id={rental['legacyId']}"
    assert client.get(base).json == {"status": "error", "message": "STATUS_WAIT_CODE", "error": "STATUS_WAIT_CODE"}
    poller = later(app, 0.5, poll_statuses)
    answer, took = timed(lambda: client.get(base + "&wait=20"))
    poller.join()
    assert answer.json["status"] == "success" and answer.json["quantity"] == "1" and took < 10


def test_rental_events_are_read_by_rental_and_pushed_to_webhooks(client, make_user, receiver):
    account = make_user("20.00")
    hook = register(client, account, receiver.url, eventTypes=["rental.*"])
    receiver.secret = hook["secret"]
    rental = rent(client, account)
    poll_statuses()
    mine = events_of(client, account, rentalId=rental["id"])
    types = [event["type"] for event in mine]
    assert "rental.created" in types and "rental.sms_received" in types
    assert all(event["type"].startswith("rental.") or event["type"] == "ledger.entry" for event in mine)
    pushed = [delivery.json["type"] for delivery in receiver.deliveries]
    assert pushed == [t for t in types if t.startswith("rental.")] and all(d.verified for d in receiver.deliveries)
