"""Managing webhooks over REST: the secret shown once, changes, scopes, limits, errors."""

from __future__ import annotations

import pytest

from smsbulk.extensions import db
from smsbulk.models import Webhook

from .conftest import BUY, register


def test_an_endpoint_is_listed_changed_and_deleted_and_its_secret_is_shown_once(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.*", "ledger.entry"])
    assert hook["id"].startswith("wh_") and hook["secret"].startswith("whsec_")
    assert hook["eventTypes"] == ["activation.*", "ledger.entry"] and hook["enabled"] is True
    listed = client.get("/api/v1/webhooks", headers=account.headers).json
    assert [item["id"] for item in listed] == [hook["id"]] and "secret" not in listed[0]
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=account.headers).json
    assert "secret" not in shown and shown["url"] == receiver.url

    changed = client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"eventTypes": [], "enabled": False}, headers=account.headers
    ).json
    assert changed["eventTypes"] == [] and changed["enabled"] is False and changed["disabledReason"] == "by the account"
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert receiver.deliveries == []  # disabled: nothing is sent
    back = client.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=account.headers).json
    assert back["enabled"] and back["disabledReason"] is None
    assert receiver.deliveries == []  # what happened while it was off is a replay away, not a flood
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert receiver.deliveries

    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=account.headers).status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=account.headers).status_code == 404
    sent = len(receiver.deliveries)
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert len(receiver.deliveries) == sent
    with db.connection_context():
        assert Webhook.select().count() == 0


def test_managing_webhooks_needs_the_keys_scope(client, make_user, receiver):
    owner = make_user()
    hook = register(client, owner, receiver.url)
    reader = client.post("/api/v1/keys", json={"scopes": ["read", "purchase"]}, headers=owner.headers).json
    headers = {"x-api-key": reader["secret"]}
    for method, path in (
        ("get", "/api/v1/webhooks"),
        ("post", "/api/v1/webhooks"),
        ("get", f"/api/v1/webhooks/{hook['id']}"),
        ("patch", f"/api/v1/webhooks/{hook['id']}"),
        ("delete", f"/api/v1/webhooks/{hook['id']}"),
        ("post", f"/api/v1/webhooks/{hook['id']}/rotate"),
        ("post", f"/api/v1/webhooks/{hook['id']}/replay"),
        ("get", f"/api/v1/webhooks/{hook['id']}/deliveries"),
        ("put", "/api/v1/webhooks/sms-activate"),
    ):
        answer = getattr(client, method)(path, json={}, headers=headers)
        assert answer.status_code == 403 and answer.json["error"] == "insufficient_scope", (method, path)
    assert client.get("/api/v1/events", headers=headers).status_code == 200  # reading events needs `read`


def test_another_accounts_webhook_is_not_found(client, make_user, receiver):
    hook = register(client, make_user(), receiver.url)
    stranger = make_user()
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate"), ("get", "/deliveries")):
        answer = getattr(client, method)(f"/api/v1/webhooks/{hook['id']}{path}", json={}, headers=stranger.headers)
        assert answer.status_code == 404 and answer.json["error"] == "webhook_not_found"
    answer = client.post(f"/api/v1/webhooks/{hook['id']}/replay", json={"since": 0}, headers=stranger.headers)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.com/", "eventTypes": ["activation.nope"]},
        {"url": "https://example.com/", "eventTypes": ["nope.*"]},
        {"url": "https://example.com/", "eventTypes": "activation.created"},
        {"url": "https://example.com/", "secret": "whsec_mine"},
        {"url": 5},
        {},
    ],
)
def test_bad_registrations_are_422_and_create_nothing(client, make_user, body):
    account = make_user()
    answer = client.post("/api/v1/webhooks", json=body, headers=account.headers)
    assert answer.status_code == 422 and answer.json["error"] in ("validation_error", "bad_request"), answer.json
    assert client.get("/api/v1/webhooks", headers=account.headers).json == []


@pytest.mark.parametrize("body", [{"since": -1}, {"since": "yesterday"}, {"since": None}, {}, {"since": 0, "x": 1}])
def test_a_bad_replay_is_422(client, make_user, receiver, body):
    account = make_user()
    hook = register(client, account, receiver.url)
    answer = client.post(f"/api/v1/webhooks/{hook['id']}/replay", json=body, headers=account.headers)
    assert answer.status_code == 422, answer.json


def test_an_account_has_at_most_ten_endpoints(client, make_user, receiver):
    account = make_user()
    for _ in range(10):
        register(client, account, receiver.url)
    answer = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=account.headers)
    assert answer.status_code == 409 and answer.json["error"] == "webhook_limit_reached"


def test_a_rotation_grace_is_at_most_a_day(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url)
    answer = client.post(
        f"/api/v1/webhooks/{hook['id']}/rotate", json={"gracePeriodSeconds": 86401}, headers=account.headers
    )
    assert answer.status_code == 422


def test_the_sms_activate_hook_is_one_per_account_and_can_be_removed(client, make_user, receiver):
    account = make_user()
    assert client.get("/api/v1/webhooks/sms-activate", headers=account.headers).status_code == 404
    set_ = client.put("/api/v1/webhooks/sms-activate", json={"url": receiver.url}, headers=account.headers)
    assert set_.status_code == 200 and set_.json["url"] == receiver.url
    other = client.put(
        "/api/v1/webhooks/sms-activate", json={"url": receiver.url + "/2", "enabled": False}, headers=account.headers
    )
    assert other.json["url"] == receiver.url + "/2" and other.json["enabled"] is False
    assert client.get("/api/v1/webhooks", headers=account.headers).json == []  # not one of the standard endpoints
    assert client.delete("/api/v1/webhooks/sms-activate", headers=account.headers).status_code == 204
    assert client.get("/api/v1/webhooks/sms-activate", headers=account.headers).status_code == 404


def test_the_openapi_document_describes_every_new_operation(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in (
        "/api/v1/events",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/rotate",
        "/api/v1/webhooks/{webhook_id}/replay",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/webhooks/sms-activate",
    ):
        assert path in paths, path
    parameters = {p["name"] for p in paths["/api/v1/activations/{activation_id}"]["get"]["parameters"]}
    assert {"wait", "since"} <= parameters
