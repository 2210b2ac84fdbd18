"""Key management over REST: list, create, get, change, rotate, revoke; the limit; the audit log."""

import datetime
import json
import time

from smsbulk.extensions import db
from smsbulk.models import ApiKey, Event
from smsbulk.services import events

KEYS = "/api/v1/keys"


def test_a_key_is_created_listed_and_its_secret_shown_only_once(client, make_user):
    owner = make_user()
    made = client.post(KEYS, json={"name": "bot 1", "dailyQuota": 500}, headers=owner.headers)
    assert made.status_code == 201, made.json
    key = made.json
    secret = key.pop("secret")
    assert len(secret) == 32 and secret.isalnum() and key["prefix"] == secret[:8]
    assert key["id"].startswith("key_") and key["name"] == "bot 1" and key["state"] == "active"
    assert key["scopes"] == ["read", "purchase"]  # unless told otherwise
    assert (key["dailyQuota"], key["usageToday"], key["allowedIps"], key["expiresAt"]) == (500, 0, [], None)
    assert key["maxPurchasesPerDay"] is None and key["maxSpendPerDay"] is None and key["lastUsedAt"] is None
    # The new key works, and nothing shows its secret again.
    balance = client.get("/api/v1/wallet/balance", headers={"x-api-key": secret})
    assert balance.status_code == 200
    listed = client.get(KEYS, headers=owner.headers)
    assert listed.status_code == 200 and [k["id"] for k in listed.json][0] == key["id"]
    assert len(listed.json) == 2 and "secret" not in json.dumps(listed.json) and secret not in listed.text
    shown = client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json
    assert shown["usageToday"] == 1 and "secret" not in shown
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2


def test_every_setting_is_kept_and_shown(client, make_user):
    owner = make_user()
    body = {
        "name": "guarded",
        "dailyQuota": 50,
        "maxPurchasesPerDay": 3,
        "maxSpendPerDay": "1.50",
        "scopes": ["read"],
        "allowedIps": ["203.0.113.7", "2001:db8::/32", "10.1.2.3/8"],
        "expiresAt": "2099-01-31T12:00:00Z",
    }
    key = client.post(KEYS, json=body, headers=owner.headers).json
    assert key["maxPurchasesPerDay"] == 3 and key["maxSpendPerDay"] == "1.50" and key["scopes"] == ["read"]
    assert key["allowedIps"] == ["203.0.113.7/32", "2001:db8::/32", "10.0.0.0/8"]  # normalised
    assert key["expiresAt"] == "2099-01-31T12:00:00Z" and key["purchasesToday"] == 0 and key["spentToday"] == "0.00"


def test_bad_settings_are_refused_with_the_field_named(client, make_user):
    owner = make_user()
    for body, field in [
        ({"scopes": ["root"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"allowedIps": ["300.1.1.1"]}, "allowedIps"),
        ({"allowedIps": ["example.com"]}, "allowedIps"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"maxSpendPerDay": "0.001"}, "maxSpendPerDay"),
        ({"maxSpendPerDay": "-1"}, "maxSpendPerDay"),
        ({"dailyQuota": -1}, "dailyQuota"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"secret": "A" * 32}, "secret"),
    ]:
        answer = client.post(KEYS, json=body, headers=owner.headers)
        assert answer.status_code == 422, (body, answer.json)
        assert answer.json["error"] == "validation_error" and field in answer.json["errors"]["json"], answer.json
    with db.connection_context():
        assert ApiKey.select().count() == 1


def test_an_eleventh_active_key_is_refused_with_409(client, make_user):
    owner = make_user()
    made = [client.post(KEYS, json={"name": f"k{n}"}, headers=owner.headers).status_code for n in range(10)]
    assert made == [201] * 9 + [409]
    refused = client.post(KEYS, json={}, headers=owner.headers)
    assert refused.status_code == 409 and refused.json["error"] == "key_limit_reached"
    victim = client.get(KEYS, headers=owner.headers).json[0]["id"]
    assert client.delete(f"{KEYS}/{victim}", headers=owner.headers).status_code == 200
    assert client.post(KEYS, json={}, headers=owner.headers).status_code == 201  # a revoked key frees a place
    assert client.get(f"{KEYS}?state=active", headers=owner.headers).json.__len__() == 10
    assert len(client.get(f"{KEYS}?state=revoked", headers=owner.headers).json) == 1


def test_racing_creates_never_pass_the_limit(app, make_user):
    from concurrent.futures import ThreadPoolExecutor

    owner = make_user()

    def create(n):
        with app.test_client() as own:
            return own.post(KEYS, json={"name": f"race {n}"}, headers=owner.headers).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(create, range(12)))
    assert sorted(codes) == [201] * 9 + [409] * 3, codes
    with db.connection_context():
        assert ApiKey.select().where(ApiKey.revoked_at.is_null()).count() == 10


def test_patch_changes_only_what_it_is_sent_and_takes_effect_at_once(client, make_user):
    owner = make_user()
    key = client.post(KEYS, json={"name": "bot", "dailyQuota": 100}, headers=owner.headers).json
    body = {"dailyQuota": 2, "maxSpendPerDay": "3.00"}
    changed = client.patch(f"{KEYS}/{key['id']}", json=body, headers=owner.headers)
    assert changed.status_code == 200, changed.json
    assert (changed.json["name"], changed.json["dailyQuota"], changed.json["maxSpendPerDay"]) == ("bot", 2, "3.00")
    headers = {"x-api-key": key["secret"]}
    assert [client.get("/api/v1/wallet/balance", headers=headers).status_code for _ in range(3)] == [200, 200, 429]
    cleared = client.patch(f"{KEYS}/{key['id']}", json={"maxSpendPerDay": None}, headers=owner.headers).json
    assert cleared["maxSpendPerDay"] is None and cleared["dailyQuota"] == 2
    missing = client.patch(f"{KEYS}/key_0000000000000000", json={"name": "x"}, headers=owner.headers)
    assert missing.status_code == 404 and missing.json["error"] == "key_not_found"


def test_another_accounts_key_is_not_found(client, make_user):
    alice, bob = make_user(), make_user()
    bobs = client.get(KEYS, headers=bob.headers).json[0]["id"]
    for answer in (
        client.get(f"{KEYS}/{bobs}", headers=alice.headers),
        client.patch(f"{KEYS}/{bobs}", json={"name": "mine"}, headers=alice.headers),
        client.post(f"{KEYS}/{bobs}/rotate", headers=alice.headers),
        client.delete(f"{KEYS}/{bobs}", headers=alice.headers),
    ):
        assert answer.status_code == 404 and answer.json["error"] == "key_not_found"
    assert client.get("/api/v1/wallet/balance", headers=bob.headers).status_code == 200


def test_a_revoked_key_is_refused_and_cannot_be_changed_or_rotated(client, make_user):
    owner = make_user()
    key = client.post(KEYS, json={}, headers=owner.headers).json
    revoked = client.delete(f"{KEYS}/{key['id']}", headers=owner.headers)
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked" and revoked.json["revokedAt"]
    again = client.delete(f"{KEYS}/{key['id']}", headers=owner.headers)
    assert again.status_code == 200 and again.json["revokedAt"] == revoked.json["revokedAt"]
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": key["secret"]}).status_code == 401
    for answer in (
        client.patch(f"{KEYS}/{key['id']}", json={"name": "back"}, headers=owner.headers),
        client.post(f"{KEYS}/{key['id']}/rotate", headers=owner.headers),
    ):
        assert answer.status_code == 409 and answer.json["error"] == "key_not_active"


def test_rotation_keeps_the_key_and_refuses_the_old_secret(client, make_user):
    owner = make_user()
    key = client.post(KEYS, json={"name": "bot", "scopes": ["read"], "dailyQuota": 77}, headers=owner.headers).json
    old = {"x-api-key": key["secret"]}
    assert client.get("/api/v1/wallet/balance", headers=old).status_code == 200
    rotated = client.post(f"{KEYS}/{key['id']}/rotate", headers=owner.headers)
    assert rotated.status_code == 200, rotated.json
    new = rotated.json
    assert new["secret"] != key["secret"] and new["prefix"] == new["secret"][:8]
    assert (new["id"], new["name"], new["scopes"], new["dailyQuota"]) == (key["id"], "bot", ["read"], 77)
    assert client.get("/api/v1/wallet/balance", headers=old).status_code == 401
    answer = client.get("/api/v1/wallet/balance", headers={"x-api-key": new["secret"]})
    assert answer.status_code == 200 and answer.headers["X-RateLimit-Remaining"] == "75"  # the same key's count


def test_a_rotated_secret_works_for_its_grace_period_then_never_again(app, client, make_user):
    app.config["KEY_CACHE_SECONDS"] = 60  # a cached read must not outlive the grace period either
    owner = make_user()
    key = client.post(KEYS, json={}, headers=owner.headers).json
    old = {"x-api-key": key["secret"]}
    assert client.get("/api/v1/wallet/balance", headers=old).status_code == 200
    rotated = client.post(f"{KEYS}/{key['id']}/rotate", json={"gracePeriodSeconds": 2}, headers=owner.headers).json
    ends = datetime.datetime.fromisoformat(rotated["previousSecretExpiresAt"].replace("Z", "+00:00"))
    assert 0 < (ends - datetime.datetime.now(datetime.UTC)).total_seconds() <= 2
    new = {"x-api-key": rotated["secret"]}
    assert client.get("/api/v1/wallet/balance", headers=old).status_code == 200
    assert client.get("/api/v1/wallet/balance", headers=new).status_code == 200
    time.sleep(2.1)
    assert client.get("/api/v1/wallet/balance", headers=old).status_code == 401
    assert client.get("/api/v1/wallet/balance", headers=new).status_code == 200
    too_long = client.post(f"{KEYS}/{key['id']}/rotate", json={"gracePeriodSeconds": 86401}, headers=owner.headers)
    assert too_long.status_code == 422


def test_revoking_a_key_in_its_grace_period_stops_both_secrets(client, make_user):
    owner = make_user()
    key = client.post(KEYS, json={}, headers=owner.headers).json
    rotated = client.post(f"{KEYS}/{key['id']}/rotate", json={"gracePeriodSeconds": 3600}, headers=owner.headers).json
    client.delete(f"{KEYS}/{key['id']}", headers=owner.headers)
    for secret in (key["secret"], rotated["secret"]):
        assert client.get("/api/v1/wallet/balance", headers={"x-api-key": secret}).status_code == 401


def test_an_expired_key_is_refused_like_a_revoked_one_even_when_cached(app, client, make_user):
    app.config["KEY_CACHE_SECONDS"] = 60
    owner = make_user()
    soon = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1.5)).isoformat()
    key = client.post(KEYS, json={"expiresAt": soon}, headers=owner.headers).json
    headers = {"x-api-key": key["secret"]}
    assert client.get("/api/v1/wallet/balance", headers=headers).status_code == 200
    time.sleep(1.6)
    expired = client.get("/api/v1/wallet/balance", headers=headers)
    assert expired.status_code == 401 and expired.json["error"] == "invalid_api_key"
    assert client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json["state"] == "expired"
    assert client.post(f"{KEYS}/{key['id']}/rotate", headers=owner.headers).json["error"] == "key_not_active"


def test_key_changes_are_in_the_event_log_as_the_api_shows_the_key_without_secrets(client, make_user):
    owner = make_user()
    key = client.post(KEYS, json={"name": "audited"}, headers=owner.headers).json
    client.patch(f"{KEYS}/{key['id']}", json={"name": "renamed"}, headers=owner.headers)
    client.patch(f"{KEYS}/{key['id']}", json={"name": "renamed"}, headers=owner.headers)  # no change: no event
    rotated = client.post(f"{KEYS}/{key['id']}/rotate", headers=owner.headers).json
    client.delete(f"{KEYS}/{key['id']}", headers=owner.headers)
    shown = client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json
    with db.connection_context():
        logged = [e for e in events.after(owner.user.id) if events.payload_of(e).get("id") == key["id"]]
        hashes = [row.key_hash for row in ApiKey.select()]
        text = " ".join(e.payload for e in Event.select())
    assert [e.type for e in logged] == ["key.created", "key.changed", "key.rotated", "key.revoked"]
    payloads = [events.payload_of(e) for e in logged]
    assert payloads[1]["name"] == "renamed" and payloads[2]["prefix"] == rotated["prefix"]
    assert set(payloads[3]) == set(shown) and payloads[3]["revokedAt"] == shown["revokedAt"]
    for secret in (key["secret"], rotated["secret"], *hashes):
        assert secret not in text
    assert "secret" not in text


def test_the_current_key_and_the_account_describe_the_caller_whatever_its_scopes(client, make_user):
    owner = make_user()
    narrow = client.post(KEYS, json={"scopes": ["purchase"], "name": "buyer"}, headers=owner.headers).json
    headers = {"x-api-key": narrow["secret"]}
    current = client.get(f"{KEYS}/current", headers=headers).json
    assert (current["id"], current["name"], current["scopes"], current["usageToday"]) == (
        narrow["id"],
        "buyer",
        ["purchase"],
        1,
    )
    assert current["remaining"] == current["dailyQuota"] - 1 and current["resetAt"].endswith("T00:00:00Z")
    account = client.get("/api/v1/account", headers=headers)
    assert account.status_code == 200
    assert account.json["email"] == owner.user.email and account.json["role"] == "user"
    assert account.json["activeKeys"] == 2 and account.json["createdAt"].endswith("Z")


def test_last_used_is_noted_without_a_database_write_and_recorded_by_the_periodic_job(app, client, make_user):
    from smsbulk.services import key_usage
    from workers.tasks import record_keys_last_used

    owner = make_user()
    key = client.post(KEYS, json={}, headers=owner.headers).json
    client.get("/api/v1/wallet/balance", headers={"x-api-key": key["secret"]})
    with db.connection_context():
        assert ApiKey.get(ApiKey.public_id == key["id"]).last_used_at is None  # nothing written yet
    shown = client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json["lastUsedAt"]
    assert shown is not None
    assert abs(datetime.datetime.fromisoformat(shown[:-1]) - datetime.datetime.utcnow()).total_seconds() < 5
    with db.connection_context():
        assert record_keys_last_used() >= 2  # the periodic job; the owner's key too
        stored = ApiKey.get(ApiKey.public_id == key["id"]).last_used_at
        assert stored is not None and f"{stored:%Y-%m-%dT%H:%M:%S}Z" == shown
        assert key_usage.record_last_used() == 0
    assert client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json["lastUsedAt"] == shown


def test_the_key_operations_validate_with_stable_operation_ids_and_every_error_documented(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").json
    validate(spec)
    operations = {
        operation.get("operationId"): (method, path)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if method != "parameters"
    }
    assert {name: operations[name] for name in operations if name and ("Key" in name or name == "getAccount")} == {
        "listKeys": ("get", "/api/v1/keys"),
        "createKey": ("post", "/api/v1/keys"),
        "getCurrentKey": ("get", "/api/v1/keys/current"),
        "getKey": ("get", "/api/v1/keys/{key_id}"),
        "updateKey": ("patch", "/api/v1/keys/{key_id}"),
        "revokeKey": ("delete", "/api/v1/keys/{key_id}"),
        "rotateKey": ("post", "/api/v1/keys/{key_id}/rotate"),
        "getAccount": ("get", "/api/v1/account"),
    }
    responses = {
        name: set(spec["paths"][path][method]["responses"]) for name, (method, path) in operations.items() if name
    }
    assert {"201", "401", "403", "409", "422", "429"} <= responses["createKey"]
    assert {"200", "401", "403", "404", "409", "422", "429"} <= responses["rotateKey"]
    assert {"200", "401", "403", "404", "429"} <= responses["revokeKey"]
    issued = spec["components"]["schemas"]["IssuedKey"]
    assert "secret" in issued["properties"] and "secret" not in spec["components"]["schemas"]["Key"]["properties"]
