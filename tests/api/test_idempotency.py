"""Idempotency-Key on REST, as Stripe has it: one key, one request, one answer, for 24 hours."""

from __future__ import annotations

import datetime
from decimal import Decimal

import requests

from smsbulk.extensions import db
from smsbulk.models import Activation, IdempotentRequest
from smsbulk.models.base import utcnow
from smsbulk.services import idempotency
from tests.factories import assert_ledger_exact, balance, race

BUY = {"serviceCode": "wa", "countryIso": "TR"}
OTHER = {"serviceCode": "fb", "countryIso": "US"}


def buy(client, account, body, key):
    return client.post("/api/v1/activations", json=body, headers={**account.headers, "Idempotency-Key": key})


def activations_of(account) -> int:
    with db.connection_context():
        return Activation.select().where(Activation.user == account.user.id).count()


def test_the_same_key_with_another_request_is_refused_and_buys_nothing(client, make_user):
    account = make_user()
    first = buy(client, account, BUY, "order-1")
    assert first.status_code == 201
    second = buy(client, account, OTHER, "order-1")
    assert second.status_code == 422 and second.json["error"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in second.headers
    assert activations_of(account) == 1
    assert balance(account) == Decimal("10.00") - Decimal(first.json["userCost"])
    assert_ledger_exact(account)


def test_a_repeat_gets_the_first_answer_byte_for_byte_marked_replayed(client, make_user):
    account = make_user()
    first = buy(client, account, BUY, "order-1")
    again = client.post(
        "/api/v1/activations",
        data='{"countryIso": "TR",  "serviceCode": "wa"}',  # the same request, written differently
        headers={**account.headers, "Idempotency-Key": "order-1", "Content-Type": "application/json"},
    )
    assert (again.status_code, again.data) == (first.status_code, first.data)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["X-RateLimit-Remaining"]  # still a counted, authenticated call
    assert activations_of(account) == 1


def test_keys_belong_to_their_account(client, make_user):
    one, two = make_user(), make_user()
    assert buy(client, one, BUY, "shared").status_code == 201
    assert buy(client, two, OTHER, "shared").status_code == 201
    assert activations_of(one) == activations_of(two) == 1


def test_an_error_is_not_kept_so_a_retry_runs_again(client, make_user, runner):
    account = make_user("0.00")
    refused = buy(client, account, BUY, "order-1")
    assert refused.status_code == 402
    runner.invoke(args=["wallet", "credit", account.user.email, "5"])
    assert buy(client, account, BUY, "order-1").status_code == 201
    invalid = buy(client, account, {"serviceCode": "wa"}, "order-2")
    assert invalid.status_code == 422 and invalid.json["error"] == "validation_error"
    assert buy(client, account, OTHER, "order-2").status_code == 201  # nothing was kept for order-2


def test_a_malformed_key_is_a_400(client, make_user):
    account = make_user()
    for key in ("k" * 129, "naïve"):
        answer = client.post(
            "/api/v1/activations",
            json=BUY,
            headers={**account.headers, "Idempotency-Key": key.encode().decode("latin-1")},
        )
        assert answer.status_code == 400 and answer.json["error"] == "bad_request", key
    assert activations_of(account) == 0


def test_two_concurrent_twins_buy_once_and_get_the_same_answer(live_url, make_user):
    account = make_user()
    headers = {**account.headers, "Idempotency-Key": "twin"}

    def post():
        return requests.post(f"{live_url}/api/v1/activations", json=BUY, headers=headers, timeout=30)

    answers = race(post, post, post, post)
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.content for a in answers}) == 1
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true", "true", "true"]
    assert activations_of(account) == 1
    assert_ledger_exact(account)


def test_a_twin_still_running_answers_409_in_use(client, make_user, monkeypatch):
    account = make_user()
    asked = idempotency.fingerprint(account.user.id, "POST", "/api/v1/activations", [], BUY)
    with db.connection_context():
        IdempotentRequest.create(user=account.user.id, key="busy", fingerprint=asked)
    monkeypatch.setattr(idempotency, "CLAIM_WAIT_SECONDS", 0.2)
    answer = buy(client, account, BUY, "busy")
    assert answer.status_code == 409 and answer.json["error"] == "idempotency_key_in_use"
    assert activations_of(account) == 0


def test_a_claim_left_by_a_dead_process_is_taken_over(client, make_user):
    account = make_user()
    asked = idempotency.fingerprint(account.user.id, "POST", "/api/v1/activations", [], BUY)
    long_ago = utcnow() - datetime.timedelta(seconds=idempotency.STALE_CLAIM_SECONDS + 1)
    with db.connection_context():
        IdempotentRequest.create(user=account.user.id, key="orphan", fingerprint=asked, claimed_at=long_ago)
    first = buy(client, account, BUY, "orphan")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert buy(client, account, BUY, "orphan").data == first.data


def test_keys_are_kept_24_hours_then_purged(client, make_user):
    account = make_user()
    first = buy(client, account, BUY, "old")
    assert buy(client, account, BUY, "kept").status_code == 201
    day_ago = utcnow() - datetime.timedelta(hours=24, minutes=1)
    with db.connection_context():
        IdempotentRequest.update(created_at=day_ago).where(IdempotentRequest.key == "old").execute()
        Activation.update(created_at=day_ago).where(Activation.public_id == first.json["id"]).execute()
        assert idempotency.purge() == {"idempotency_keys_forgotten": 1}
        assert [r.key for r in IdempotentRequest.select()] == ["kept"]
        assert Activation.get(Activation.public_id == first.json["id"]).idempotency_key is None
    again = buy(client, account, OTHER, "old")  # a new request now, not the day-old one
    assert again.status_code == 201 and again.json["id"] != first.json["id"]
    assert buy(client, account, OTHER, "kept").status_code == 422


def test_an_expired_key_not_yet_purged_counts_as_absent(client, make_user):
    account = make_user()
    buy(client, account, BUY, "old")
    with db.connection_context():
        IdempotentRequest.update(created_at=utcnow() - datetime.timedelta(hours=25)).execute()
        Activation.update(idempotency_key=None).execute()  # as the purge leaves it
    assert buy(client, account, OTHER, "old").status_code == 201
    assert activations_of(account) == 2


def test_every_operation_that_buys_documents_the_header(client):
    paths = client.get("/api/openapi.json").json["paths"]
    keyed = {
        operation["operationId"]
        for item in paths.values()
        for operation in item.values()
        if isinstance(operation, dict)
        and any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    }
    assert keyed == {"createActivation", "reactivateActivation", "createRental", "extendRental"}
