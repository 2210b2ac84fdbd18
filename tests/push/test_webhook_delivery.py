"""Webhook deliveries to a real receiver on loopback that verifies them with `standardwebhooks`."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from rq.registry import ScheduledJobRegistry
from standardwebhooks import Webhook, WebhookVerificationError

from smsbulk.extensions import db, get_redis
from smsbulk.models import Event, WebhookMessage
from smsbulk.models import Webhook as WebhookRow
from smsbulk.models.base import utcnow
from smsbulk.queues import QueueNames, get_queue
from smsbulk.services import webhook_bodies, webhook_delivery
from workers.tasks import poll_statuses

from .conftest import BUY, events_of, register, retries


def whole_activation(client, account) -> str:
    """created -> number -> SMS -> completed; the activation's id."""
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    poll_statuses()  # the simulator's code arrives
    finished = client.post(f"/api/v1/activations/{bought['id']}/finish", headers=account.headers)
    assert finished.json["status"] == "COMPLETED"
    return bought["id"]


def test_a_receiver_gets_one_signed_delivery_per_event_of_a_whole_activation(client, make_user, receiver):
    account = make_user()
    before = events_of(client, account)[-1]["id"]  # the opening deposit and the key: not sent
    receiver.secret = register(client, account, receiver.url)["secret"]
    whole_activation(client, account)
    canceled = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    assert client.post(f"/api/v1/activations/{canceled['id']}/cancel", headers=account.headers).status_code == 200

    sent = events_of(client, account, after=before)
    types = [event["type"] for event in sent]
    for expected in (
        "activation.created",
        "activation.number_assigned",
        "activation.sms_received",
        "activation.completed",
        "activation.canceled",
        "activation.refunded",
        "ledger.entry",
    ):
        assert expected in types
    assert all(delivery.verified for delivery in receiver.deliveries), [d.error for d in receiver.deliveries]
    assert receiver.ids() == [f"evt_{event['id']}" for event in sent]  # one each, in order
    assert [delivery.json for delivery in receiver.deliveries] == sent  # the body is the event as the API shows it


def test_after_being_down_for_3_attempts_it_gets_them_again_with_identical_ids(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.*"])
    receiver.secret = hook["secret"]
    receiver.stop()  # down: connections refused
    whole_activation(client, account)
    assert retries() == 4 and retries() == 4  # attempts 2 and 3 of each of the 4 events
    receiver.start()  # back on the same port
    assert retries() == 4
    assert retries() == 0  # delivered: nothing more is scheduled

    wanted = [f"evt_{e['id']}" for e in events_of(client, account, types="activation.*")]
    assert receiver.ids() == wanted and all(d.verified for d in receiver.deliveries)
    attempts = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries?page_size=100", headers=account.headers).json
    assert len(attempts) == 16
    assert sorted(a["attempt"] for a in attempts if a["succeeded"]) == [4, 4, 4, 4]
    failed = [a for a in attempts if not a["succeeded"]]
    assert all(a["statusCode"] is None and "Connection" in a["error"] for a in failed), failed
    assert {a["webhookId"] for a in attempts} == set(wanted)


def test_a_replay_resends_them_with_the_same_ids(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url)
    receiver.secret = hook["secret"]
    whole_activation(client, account)
    first = receiver.ids()
    replay = client.post(f"/api/v1/webhooks/{hook['id']}/replay", json={"since": 0}, headers=account.headers)
    assert replay.status_code == 202 and replay.json["replay"] == 1 and replay.json["after"] == 0
    # Events before the endpoint existed are sent too: the replay covers the log from the cursor.
    assert receiver.ids()[len(first) :] == [f"evt_{e['id']}" for e in events_of(client, account)]
    assert set(first) <= set(receiver.ids()[len(first) :])
    assert all(d.verified for d in receiver.deliveries)

    by_time = client.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json={"since": "2000-01-01T00:00:00Z"}, headers=account.headers
    )
    assert by_time.status_code == 202 and by_time.json["replay"] == 2 and by_time.json["after"] == 0


def test_a_forged_or_stale_signature_fails_verification(client, make_user, receiver, app):
    account = make_user()
    hook = register(client, account, receiver.url)
    receiver.secret = hook["secret"]
    whole_activation(client, account)
    delivery = receiver.deliveries[0]
    verifier = Webhook(hook["secret"])
    assert verifier.verify(delivery.body, delivery.headers) == delivery.json
    with pytest.raises(WebhookVerificationError):  # the body changed on the way
        verifier.verify(delivery.body.replace(b'"id"', b'"Id"'), delivery.headers)
    with pytest.raises(WebhookVerificationError):  # another webhook-id than the one signed
        verifier.verify(delivery.body, {**delivery.headers, "webhook-id": "evt_999"})
    with pytest.raises(WebhookVerificationError):  # signed with another secret
        Webhook("whsec_" + "QUJD" * 8).verify(delivery.body, delivery.headers)
    with db.connection_context():
        row = WebhookRow.get(WebhookRow.public_id == hook["id"])
    an_hour_ago = datetime.datetime.now(datetime.UTC).timestamp() - 3600
    stale = webhook_bodies.signed_headers(row, 1, delivery.body, now=an_hour_ago)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(delivery.body, stale)


def test_a_rotated_secret_signs_beside_the_old_one_during_its_grace(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.created"])
    rotated = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate", json={"gracePeriodSeconds": 3600}, headers=account.headers
    ).json
    assert rotated["secret"] != hook["secret"] and rotated["previousSecretExpiresAt"]
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    delivery = receiver.deliveries[-1]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):
        Webhook(secret).verify(delivery.body, delivery.headers)
    again = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", headers=account.headers).json
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    Webhook(again["secret"]).verify(receiver.deliveries[-1].body, receiver.deliveries[-1].headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated["secret"]).verify(receiver.deliveries[-1].body, receiver.deliveries[-1].headers)


def test_an_error_status_is_a_failure_and_a_1kb_snippet_of_the_answer_is_kept(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.created"])
    receiver.status, receiver.answer = 500, b"x" * 5000
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    [attempt] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert not attempt["succeeded"] and attempt["statusCode"] == 500 and attempt["error"] == "HTTP 500"
    assert attempt["response"] == "x" * 1024 and attempt["messageState"] == "pending" and attempt["nextAttemptAt"]


def test_the_last_failed_attempt_fails_the_message_and_five_failing_days_disable_the_endpoint(
    client, make_user, receiver, app
):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.created"])
    receiver.status = 503
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    delays = []  # when each retry was scheduled for, seconds after its failed attempt
    while scheduled := get_redis().zrange(
        ScheduledJobRegistry(queue=get_queue(QueueNames.WEBHOOKS)).key, 0, -1, withscores=True
    ):
        delays += [at - time.time() for _, at in scheduled]  # RQ keeps whole seconds
        retries()
    suggested = [5, 300, 1800, 7200, 18000, 36000, 36000]  # the Standard Webhooks schedule after the first
    assert len(delays) == len(suggested) and all(
        want - 2 < got <= want for got, want in zip(delays, suggested, strict=True)
    )
    with db.connection_context():
        message = WebhookMessage.get()
        WebhookRow.update(failing_since=utcnow() - datetime.timedelta(days=5, minutes=1)).execute()
    assert message.state == "failed" and message.attempts == 8 and message.next_attempt_at is None

    client.post("/api/v1/activations", json=BUY, headers=account.headers)  # fails once more
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=account.headers).json
    assert shown["enabled"] is False and shown["disabledReason"] == "failing for 5 days"
    [disabled] = events_of(client, account, types="webhook.disabled")
    assert disabled["data"]["id"] == hook["id"] and "secret" not in disabled["data"]
    sent = len(receiver.deliveries)
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert len(receiver.deliveries) == sent  # nothing more goes to a disabled endpoint


def test_the_sweep_sends_what_a_lost_job_left_behind(client, make_user, receiver, app):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.created"])
    receiver.secret = hook["secret"]
    receiver.stop()
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    receiver.start()
    registry = ScheduledJobRegistry(queue=get_queue(QueueNames.WEBHOOKS))
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)  # the retry is lost (a Redis restart)
    with db.connection_context():
        WebhookMessage.update(next_attempt_at=utcnow() - datetime.timedelta(minutes=5)).execute()
        assert webhook_delivery.sweep()["redriven"] == 1
    assert len(receiver.deliveries) == 1 and receiver.deliveries[0].verified

    # An endpoint whose cursor lags the log (its dispatch was lost) is caught up by the sweep.
    with db.connection_context():
        WebhookRow.update(cursor=0).execute()
        webhook_delivery.sweep()
    created = [e for e in events_of(client, account) if e["type"] == "activation.created"]
    assert len(created) == 1 and receiver.ids() == [f"evt_{created[0]['id']}"]  # no repeat


def test_the_sms_activate_style_hook_gets_their_body_on_each_sms(client, make_user, receiver):
    account = make_user()
    answer = client.put("/api/v1/webhooks/sms-activate", json={"url": receiver.url}, headers=account.headers)
    assert answer.status_code == 200 and answer.json["secret"].startswith("whsec_")
    receiver.secret = answer.json["secret"]  # signed anyway, though their receivers ignore it
    again = client.put("/api/v1/webhooks/sms-activate", json={"url": receiver.url}, headers=account.headers)
    assert (
        "secret" not in again.json
        and "secret" not in client.get("/api/v1/webhooks/sms-activate", headers=account.headers).json
    )
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    poll_statuses()
    [delivery] = receiver.deliveries
    body = delivery.json
    assert set(body) == {"activationId", "service", "text", "code", "country", "receivedAt"}
    assert body["activationId"] == bought["legacyId"] and body["service"] == "wa" and body["country"] == 62
    assert body["code"] in body["text"] and len(body["receivedAt"]) == 19 and body["receivedAt"][10] == " "
    assert delivery.verified


def test_an_event_is_delivered_once_to_each_endpoint_that_wants_its_type(client, make_user, receiver):
    account = make_user()
    register(client, account, receiver.url, eventTypes=["ledger.entry"])
    register(client, account, receiver.url, eventTypes=["activation.created", "activation.number_assigned"])
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    kinds = sorted(json.loads(d.body)["type"] for d in receiver.deliveries)
    assert kinds == ["activation.created", "activation.number_assigned", "ledger.entry"]
    other = make_user()  # another account's events go to nobody here
    client.post("/api/v1/activations", json=BUY, headers=other.headers)
    assert len(receiver.deliveries) == 3
    with db.connection_context():
        assert Event.select().where(Event.user == other.user.id).count() > 3


def test_the_sms_activate_style_hook_is_retried_like_the_others_and_lists_its_attempts(client, make_user, receiver):
    account = make_user()
    answer = client.put("/api/v1/webhooks/sms-activate", json={"url": receiver.url}, headers=account.headers)
    receiver.secret = answer.json["secret"]
    receiver.status = 500
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    poll_statuses()
    assert retries() == 1  # attempt 2, 5 s later in production, fails too
    receiver.status = 200
    assert retries() == 1 and retries() == 0  # attempt 3 is taken: nothing more is scheduled
    bodies = {delivery.body for delivery in receiver.deliveries}
    assert len(receiver.deliveries) == 3 and len(bodies) == 1 and set(receiver.ids()) == {receiver.ids()[0]}
    assert json.loads(bodies.pop())["activationId"] == bought["legacyId"]
    listed = client.get("/api/v1/webhooks/sms-activate/deliveries", headers=account.headers).json
    assert [(a["attempt"], a["succeeded"], a["statusCode"]) for a in listed] == [
        (3, True, 200),
        (2, False, 500),
        (1, False, 500),
    ]
    assert {a["eventType"] for a in listed} == {"activation.sms_received"}
    other = make_user()
    assert client.get("/api/v1/webhooks/sms-activate/deliveries", headers=other.headers).status_code == 404


def test_a_replay_from_a_time_resends_the_events_from_that_time_on(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.*"])
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    earlier = [event["id"] for event in events_of(client, account, types="activation.*")]
    with db.connection_context():  # the account's events so far, the first purchase's too, were an hour ago
        Event.update(created_at=utcnow() - datetime.timedelta(hours=1)).where(
            (Event.user == account.user.id) & (Event.id <= earlier[-1])
        ).execute()
    whole_activation(client, account)
    later = [f"evt_{e['id']}" for e in events_of(client, account, types="activation.*") if e["id"] not in earlier]
    sent = len(receiver.deliveries)
    since = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=30)).isoformat()
    answer = client.post(f"/api/v1/webhooks/{hook['id']}/replay", json={"since": since}, headers=account.headers)
    assert answer.status_code == 202 and answer.json["after"] == earlier[-1]
    assert receiver.ids()[sent:] == later
