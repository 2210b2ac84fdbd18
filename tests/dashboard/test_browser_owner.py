"""The owner's flows in Chromium (flows 2 to 6 of the dashboard issue): create a key and read its
secret once, buy with it over REST, watch the code arrive without a reload, cancel another
activation and find the refund in the ledger, revoke the key and see the API refuse it."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from smsbulk.extensions import db
from smsbulk.models import User
from smsbulk.services import lifecycle, wallets
from tests import factories

from .browser import check, sign_up

pytestmark = pytest.mark.browser


def rest(live_url: str, key: str, method: str = "GET", path: str = "/api/v1/wallet/balance", **kwargs):
    """A call as a client library makes it: plain HTTP, outside the browser."""
    return requests.request(method, live_url + path, headers={"x-api-key": key}, timeout=20, **kwargs)


def credit(email: str, amount: str) -> None:
    with db.connection_context():
        wallets.deposit(User.get(User.email == email), Decimal(amount), memo="top-up")


def test_key_purchase_live_code_refund_and_revocation(browser_page, live_url, shot):
    page = browser_page
    sign_up(page, "owner@example.com")
    credit("owner@example.com", "5.00")

    # 2. Create a key; its secret is shown once.
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("bot 1")
    page.get_by_label("Purchases per day").fill("20")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#secret").inner_text().strip()
    assert len(secret) == 32
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    page.locator("#copied", has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    check(page, shot, "keys-secret-shown")
    page.goto("/dashboard/keys")
    assert secret not in page.content() and secret[:8] in page.content()

    # 3. Buy with it over REST.
    assert rest(live_url, secret).json() == {"balance": "5.00", "currency": "USD"}
    bought = rest(live_url, secret, "POST", "/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"})
    assert bought.status_code == 201, bought.text
    first = bought.json()
    assert first["status"] == "WAITING"

    # 4. It appears; its code appears without a reload.
    page.get_by_role("link", name="Activations").click()
    row = page.locator(f"tr[data-activation='{first['id']}']")
    assert row.locator("[data-field=status]").inner_text() == "WAITING"
    assert row.locator("[data-field=phoneNumber]").inner_text() == first["phoneNumber"]
    page.evaluate("window.notReloaded = true")
    with db.connection_context():
        lifecycle.poll_once()  # the simulator's code, fetched as the cron would
    row.locator("[data-field=status]", has_text="RECEIVED").wait_for()
    code = row.locator("[data-field=code]").inner_text()
    assert code.isdigit() and code in row.locator("[data-field=sms]").inner_text()
    assert page.evaluate("window.notReloaded") is True
    assert rest(live_url, secret, path=f"/api/v1/activations/{first['id']}").json()["smsCode"] == code
    check(page, shot, "activations-code-live")

    # 5. Cancel another activation; the refund shows in the ledger.
    second = rest(live_url, secret, "POST", "/api/v1/activations", json={"serviceCode": "tg", "countryIso": "GB"})
    page.reload()
    page.get_by_role("button", name=f"Cancel {second.json()['id']}").click()
    assert "cancelled and refunded" in page.locator(".flash").inner_text()
    page.get_by_role("link", name="Ledger").click()
    refund = page.locator("#ledger tbody tr").first
    assert "refund" in refund.inner_text() and second.json()["userCost"] in refund.inner_text()
    check(page, shot, "ledger")
    page.get_by_label("Kind").select_option("refund")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#ledger tbody tr").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = open(download.value.path(), encoding="utf-8").read()
    assert len(exported.splitlines()) == 2 and ",refund," in exported
    page.get_by_role("link", name="Overview").click()
    expected = Decimal("5.00") - Decimal(first["userCost"])
    assert page.locator("#balance").inner_text().startswith(f"{expected}")
    assert "bot 1" in page.locator("main").inner_text()
    check(page, shot, "overview")
    factories.assert_ledger_exact(factories.Account(User(id=1), "", 0))

    # 6. Revoke the key; the API refuses it.
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("button", name="Revoke bot 1").click()
    assert "is revoked" in page.locator(".flash").inner_text()
    check(page, shot, "keys")
    refused = rest(live_url, secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_api_key"
    assert requests.get(f"{live_url}/stubs/handler_api.php?api_key={secret}&action=getBalance", timeout=20).text == (
        "BAD_KEY"
    )


def test_buy_a_number_in_the_dashboard(browser_page, shot):
    page = browser_page
    sign_up(page, "buyer@example.com")
    credit("buyer@example.com", "2.00")
    page.get_by_role("link", name="Buy a number").click()
    page.get_by_label("Service").select_option("wa")
    page.get_by_label("Country").select_option("TR")
    page.get_by_role("button", name="Show prices").click()
    offer = page.locator("#offers tbody tr").first
    price = offer.locator("td.num").first.inner_text()
    assert Decimal(price) > 0 and int(offer.locator("td.num").nth(1).inner_text()) > 0
    check(page, shot, "buy")
    offer.get_by_role("button").click()
    assert f"for {price} USD" in page.locator(".flash").inner_text()
    assert page.locator("tr[data-activation]").count() == 1
    check(page, shot, "activations")


def test_webhooks_and_docs_pages(app, browser_page, shot):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    page = browser_page
    sign_up(page, "hooks@example.com")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL (https)").fill("http://127.0.0.1:9/hook")
    page.get_by_label("activation.sms_received").check()
    page.get_by_role("button", name="Add webhook").click()
    assert page.locator("#secret").inner_text().startswith("whsec_")
    check(page, shot, "webhooks")
    page.get_by_role("link", name="Docs").click()
    check(page, shot, "docs")
    page.get_by_role("link", name="Migrating from SMS-Activate").first.click()
    assert "SMS-Activate" in page.content()
    page.goto("/dashboard/docs")
    page.get_by_role("link", name="REST API reference").first.click()
    page.wait_for_url("**/api/docs")
    page.wait_for_selector("[id$='-createKey']")
