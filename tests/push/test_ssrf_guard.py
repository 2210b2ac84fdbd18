"""The SSRF guard: webhooks go to public https URLs only, checked again at delivery time.

Host names are resolved by the system's resolver, except where a test needs a name that
resolves somewhere it chooses (a private address, or one address at registration and another
at delivery: DNS rebinding); those use urlguard.resolving_with().
"""

from __future__ import annotations

import ipaddress

import pytest

from smsbulk.errors import WebhookUrlRefused
from smsbulk.services import urlguard

from .conftest import BUY

FORBIDDEN = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "0.0.0.0", "192.168.1.10", "172.16.0.5", "fe80::1"]
FORBIDDEN += ["100.64.0.1", "fd00:ec2::254", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1", "224.0.0.1"]


def answering(mapping: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise OSError(f"{host}: no such name")
        return mapping[host]

    return resolve


@pytest.mark.parametrize("address", FORBIDDEN)
def test_loopback_private_link_local_and_metadata_addresses_are_forbidden(address):
    assert urlguard.why_forbidden(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert urlguard.why_forbidden(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/hook",
        "https://localhost/hook",  # a name resolving to 127.0.0.1 and ::1
        "https://2130706433/hook",  # 127.0.0.1 written as a number
    ],
)
def test_registration_refuses_urls_pointing_inside(client, make_user, url):
    account = make_user()
    answer = client.post("/api/v1/webhooks", json={"url": url}, headers=account.headers)
    assert answer.status_code == 422 and answer.json["error"] == "webhook_url_refused", answer.json
    assert client.get("/api/v1/webhooks", headers=account.headers).json == []


@pytest.mark.parametrize("target", ["10.0.0.1", "169.254.169.254", "127.0.0.1", "::1"])
def test_registration_refuses_a_name_that_resolves_inside(client, make_user, target):
    account = make_user()
    with urlguard.resolving_with(answering({"hooks.example.com": ["93.184.216.34", target]})):
        answer = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/"}, headers=account.headers)
    assert answer.status_code == 422 and target in answer.json["address"]


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/", "https://"),
        ("ftp://hooks.example.com/", "https://"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "not valid"),
        ("https://" + "a" * 2100 + ".com/", "2048"),
    ],
)
def test_registration_wants_a_well_formed_https_url(client, make_user, url, reason):
    answer = client.post("/api/v1/webhooks", json={"url": url}, headers=make_user().headers)
    assert answer.status_code == 422 and reason in str(answer.json), answer.json


def test_a_public_name_that_does_not_resolve_yet_may_be_registered(client, make_user):
    with urlguard.resolving_with(answering({})):
        answer = client.post(
            "/api/v1/webhooks", json={"url": "https://later.example.com/"}, headers=make_user().headers
        )
    assert answer.status_code == 201


def test_the_setting_lifts_the_guard_for_local_receivers(client, make_user, app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    for url in ("http://127.0.0.1:9/hook", "https://localhost/hook", "http://10.0.0.1/"):
        assert client.post("/api/v1/webhooks", json={"url": url}, headers=make_user().headers).status_code == 201


@pytest.mark.parametrize(
    "target, reason",
    [("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"), ("169.254.169.254", "metadata")],
)
def test_delivery_checks_again_and_refuses_a_name_rebound_to_an_internal_address(
    client, make_user, receiver, app, target, reason
):
    """Registered while it resolved to a public address; at delivery it resolves inside (to
    loopback, where the receiver listens): no connection is made."""
    account = make_user()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    url = f"https://rebind.example.com:{receiver.port}/hooks"
    with urlguard.resolving_with(answering({"rebind.example.com": ["93.184.216.34"]})):
        hook = client.post("/api/v1/webhooks", json={"url": url}, headers=account.headers).json
    with urlguard.resolving_with(answering({"rebind.example.com": [target]})):
        client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert receiver.deliveries == []
    attempts = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert attempts and all(not a["succeeded"] and reason in a["error"] for a in attempts), attempts


def test_delivery_refuses_loopback_with_the_guard_on_even_when_registered_with_it_off(client, make_user, receiver, app):
    account = make_user()
    hook = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=account.headers).json
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert receiver.deliveries == []
    attempts = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert attempts and all("https" in a["error"] for a in attempts), attempts


def test_redirects_are_not_followed(client, make_user, receiver):
    account = make_user()
    hook = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "eventTypes": ["activation.created"]}, headers=account.headers
    ).json
    receiver.status = 307
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    [attempt] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert attempt["statusCode"] == 307 and not attempt["succeeded"] and len(receiver.deliveries) == 1


def test_the_guard_is_the_same_function_at_registration_and_delivery():
    with pytest.raises(WebhookUrlRefused):
        urlguard.allowed_addresses(urlguard.Target("https", "::1", 443), allow_private=False)
    assert urlguard.allowed_addresses(urlguard.Target("https", "::1", 443), allow_private=True) == ["::1"]
