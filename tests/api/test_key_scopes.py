"""Scopes and IP allowlists on REST: what a key may call, grant and change, and from where."""

import pytest

from smsbulk import create_app

KEYS = "/api/v1/keys"
BUY = {"serviceCode": "wa", "countryIso": "TR"}


def key_with(client, owner, **body) -> dict:
    made = client.post(KEYS, json=body, headers=owner.headers)
    assert made.status_code == 201, made.json
    return made.json


def test_each_operation_needs_its_scope_and_says_which_one_is_missing(client, make_user):
    owner = make_user()
    reader = {"x-api-key": key_with(client, owner, scopes=["read"])["secret"]}
    buyer = {"x-api-key": key_with(client, owner, scopes=["purchase"])["secret"]}
    bought = client.post("/api/v1/activations", json=BUY, headers=owner.headers).json
    refused = client.post("/api/v1/activations", json=BUY, headers=reader)
    assert refused.status_code == 403
    assert refused.json["error"] == "insufficient_scope" and refused.json["scope"] == "purchase"
    assert refused.json["keyScopes"] == ["read"] and refused.headers["X-RateLimit-Remaining"]  # counted
    assert client.post(f"/api/v1/activations/{bought['id']}/cancel", headers=reader).status_code == 403
    for path in ("/api/v1/wallet/balance", "/api/v1/wallet/transactions", "/api/v1/catalog/countries"):
        assert client.get(path, headers=reader).status_code == 200, path
        assert client.get(path, headers=buyer).json["error"] == "insufficient_scope", path
    assert client.get(f"/api/v1/activations/{bought['id']}", headers=buyer).status_code == 403
    assert client.post("/api/v1/activations", json=BUY, headers=buyer).status_code == 201
    for headers in (reader, buyer):
        assert client.get(KEYS, headers=headers).json["scope"] == "keys"
        assert client.post(KEYS, json={}, headers=headers).status_code == 403
        assert client.get(f"{KEYS}/current", headers=headers).status_code == 200  # any key
        assert client.get("/api/v1/account", headers=headers).status_code == 200


def test_a_key_cannot_grant_or_widen_beyond_its_own_scopes(client, make_user):
    owner = make_user()
    manager = {"x-api-key": key_with(client, owner, scopes=["read", "keys"])["secret"]}
    wider = client.post(KEYS, json={"scopes": ["read", "purchase"]}, headers=manager)
    assert wider.status_code == 403 and wider.json["scope"] == "purchase"
    assert client.post(KEYS, json={}, headers=manager).status_code == 403  # the default holds purchase too
    reader = client.post(KEYS, json={"scopes": ["read"]}, headers=manager)
    assert reader.status_code == 201
    widen = client.patch(f"{KEYS}/{reader.json['id']}", json={"scopes": ["read", "purchase"]}, headers=manager)
    assert widen.status_code == 403
    buyer = key_with(client, owner, scopes=["purchase"])
    # Rotating a key would hand its secret over; changing one would act with scopes not held.
    assert client.post(f"{KEYS}/{buyer['id']}/rotate", headers=manager).json["error"] == "insufficient_scope"
    assert client.patch(f"{KEYS}/{buyer['id']}", json={"dailyQuota": 1}, headers=manager).status_code == 403
    assert client.post(f"{KEYS}/{reader.json['id']}/rotate", headers=manager).status_code == 200
    # Revoking never widens anything: a leaked key can be stopped by any key that manages keys.
    assert client.delete(f"{KEYS}/{buyer['id']}", headers=manager).status_code == 200
    assert client.get("/api/v1/wallet/balance", headers=owner.headers).status_code == 200


def test_every_rest_operation_declares_its_scope_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters" or path.endswith("/current") or path == "/api/v1/account":
                continue
            assert "scope" in operation.get("description", ""), (method, path)
            assert "403" in operation["responses"], (method, path)


def test_an_operation_without_a_declared_scope_stops_the_app_at_start(app):
    from flask.views import MethodView

    from smsbulk.api import scopes
    from smsbulk.api.base import Blueprint

    loose = Blueprint("loose", __name__, url_prefix="/api/v1/loose")

    @loose.route("")
    class Loose(MethodView):
        def get(self):
            return {}

    probe = create_app({**app.config})
    probe.register_blueprint(loose)
    with pytest.raises(RuntimeError, match="declares no scope"):
        scopes.collect(probe, [loose])


@pytest.fixture
def behind_one_proxy(app):
    """The app as deployed behind one proxy that appends the client's address to X-Forwarded-For."""
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})
    with proxied.app_context():
        yield proxied.test_client()


def test_an_allowlisted_key_is_refused_from_elsewhere_as_a_bad_key_is(client, make_user):
    owner = make_user()
    key = key_with(client, owner, allowedIps=["203.0.113.0/24", "2001:db8::/32"])
    headers = {"x-api-key": key["secret"]}

    def balance(address):
        return client.get("/api/v1/wallet/balance", headers=headers, environ_base={"REMOTE_ADDR": address})

    for inside in ("203.0.113.9", "2001:db8::1", "::ffff:203.0.113.200"):
        assert balance(inside).status_code == 200, inside
    for outside in ("198.51.100.1", "127.0.0.1", "2001:db9::1"):
        refused = balance(outside)
        assert refused.status_code == 401 and refused.json["error"] == "invalid_api_key", outside
    # Without a trusted proxy, X-Forwarded-For is anyone's to write: it is ignored.
    forged = client.get(
        "/api/v1/wallet/balance",
        headers={**headers, "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "198.51.100.1"},
    )
    assert forged.status_code == 401


def test_behind_one_trusted_proxy_the_allowlist_checks_the_address_the_proxy_saw(behind_one_proxy, make_user):
    client = behind_one_proxy
    owner = make_user()
    key = key_with(client, owner, allowedIps=["203.0.113.0/24"])

    def balance(forwarded):
        headers = {"x-api-key": key["secret"], "X-Forwarded-For": forwarded}
        return client.get("/api/v1/wallet/balance", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})

    assert balance("203.0.113.9").status_code == 200
    assert balance("198.51.100.1").status_code == 401
    # A client's own X-Forwarded-For value comes first; the proxy appends what it saw: only that counts.
    assert balance("203.0.113.9, 198.51.100.1").status_code == 401
    assert balance("198.51.100.1, 203.0.113.9").status_code == 200
    unproxied = client.get("/api/v1/wallet/balance", headers={"x-api-key": key["secret"]})
    assert unproxied.status_code == 401  # no header: the proxy's own address, outside the list


def test_changing_the_allowlist_takes_effect_at_once(client, make_user):
    owner = make_user()
    key = key_with(client, owner)
    headers = {"x-api-key": key["secret"]}
    away = {"REMOTE_ADDR": "198.51.100.1"}
    assert client.get("/api/v1/wallet/balance", headers=headers, environ_base=away).status_code == 200
    client.patch(f"{KEYS}/{key['id']}", json={"allowedIps": ["203.0.113.0/24"]}, headers=owner.headers)
    assert client.get("/api/v1/wallet/balance", headers=headers, environ_base=away).status_code == 401
    client.patch(f"{KEYS}/{key['id']}", json={"allowedIps": []}, headers=owner.headers)
    assert client.get("/api/v1/wallet/balance", headers=headers, environ_base=away).status_code == 200
