"""The operator console in Chromium: an admin credits a user and the user's page shows it (flow 7),
a non-admin gets 403 on every admin route (flow 10), and each admin page at both widths, with
axe-core's check (browser.check) at both."""

from __future__ import annotations

import re

import pytest
from rq import Queue, SimpleWorker

from smsbulk.extensions import db, get_redis
from smsbulk.queues import SERIALIZER
from smsbulk.services import accounts, audit, price_overrides
from tests.conftest import WIDTHS

from .browser import check, log_in, serious_violations
from .helpers import PASSWORD, account
from .test_admin_pages import admin_routes, url_of

pytestmark = pytest.mark.browser


def session_of(chromium, live_url, email):
    """A browser of its own, logged in as this account."""
    context = chromium.new_context(base_url=live_url, viewport={"width": WIDTHS["desktop"], "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, email, PASSWORD)
    page.wait_for_url("**/dashboard/")
    return page


def test_flow_7_an_admin_credits_the_user_and_the_users_balance_page_shows_it(app, chromium, live_url, shot):
    account("buyer@example.com")
    account("ops@example.com", role="admin")
    buyer = session_of(chromium, live_url, "buyer@example.com")
    assert buyer.locator("#balance").inner_text().startswith("0.00")
    ops = session_of(chromium, live_url, "ops@example.com")
    ops.get_by_role("link", name="Admin").click()
    ops.get_by_role("navigation", name="Operator console").get_by_role("link", name="Users").click()
    ops.get_by_label("Email contains, or account id").fill("buyer@")
    ops.get_by_role("button", name="Search").click()
    ops.get_by_role("link", name="buyer@example.com").click()
    ops.get_by_label("Amount").fill("7.25")
    ops.get_by_label("Reason").fill("welcome credit")
    form = {name: ops.locator(f'form input[name="{name}"]').last.input_value() for name in ("csrf_token", "token")}
    ops.get_by_role("button", name="Adjust").click()
    assert "Adjusted by 7.25: the balance is now 7.25." in ops.locator(".flashes").inner_text()
    assert ops.locator("#balance").inner_text().startswith("7.25")
    # The same form sent a second time (a double click, a resend): its token is spent, nothing changes.
    again = ops.request.post(ops.url, form={**form, "amount": "7.25", "reason": "welcome credit"})
    assert again.ok and "already submitted" in again.text()
    buyer.reload()
    assert buyer.locator("#balance").inner_text().startswith("7.25")
    buyer.goto("/dashboard/ledger")
    row = buyer.locator("#ledger tbody tr").first.inner_text()
    assert "adjustment" in row and "7.25" in row and "welcome credit" in row
    check(ops, shot, "admin-user")
    with db.connection_context():
        user = accounts.user_by_email("buyer@example.com")
        assert accounts.wallets.balance_of(user) == accounts.wallets.ledger_sum(user)
    buyer.context.close()
    ops.context.close()


def test_flow_10_a_non_admin_gets_403_on_every_admin_page(app, chromium, live_url):
    account("owner@example.com")
    page = session_of(chromium, live_url, "owner@example.com")
    assert page.get_by_role("link", name="Admin").count() == 0
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    rules = admin_routes(app)
    assert len(rules) >= 7
    for rule in rules:
        url = url_of(rule)
        if "GET" in rule.methods:
            assert page.goto(url).status == 403, url
            assert "Forbidden" in page.locator("h1").inner_text()
        if "POST" in rule.methods:
            answer = page.request.post(url, form={"csrf_token": token, "action": "sync", "amount": "1"})
            assert answer.status == 403, url
    page.context.close()


def test_each_admin_page_at_desktop_and_phone_width(app, chromium, live_url, shot, make_user, client):
    ops = account("ops@example.com", role="admin")
    buyer = make_user("5.00")
    for service in ("wa", "tg"):
        client.post("/api/v1/activations", json={"serviceCode": service, "countryIso": "TR"}, headers=buyer.headers)
    with db.connection_context():
        price_overrides.set_override(audit.Operator.of(ops), "wa", "TR", "0.40")
    queue = Queue("provider", connection=get_redis(), serializer=SERIALIZER)
    queue.enqueue("json.loads", "not json", job_id="cancel-12345")
    SimpleWorker([queue], connection=get_redis(), serializer=SERIALIZER).work(burst=True)
    page = session_of(chromium, live_url, "ops@example.com")
    pages = {
        "admin-console": "/dashboard/admin/",
        "admin-users": "/dashboard/admin/users",
        "admin-providers": "/dashboard/admin/providers?balance=simulator",
        "admin-prices": "/dashboard/admin/prices?country=TR",
        "admin-activations": "/dashboard/admin/activations",
        "admin-queues": "/dashboard/admin/queues",
    }
    for name, path in pages.items():
        assert page.goto(path).status == 200, path
        # At phone width nothing is wider than the window (wide tables stack), and axe-core finds
        # no serious violation there either; check() does the desktop width and the screenshots.
        page.set_viewport_size({"width": WIDTHS["phone"], "height": 800})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
        assert serious_violations(page) == [], (path, "phone")
        page.set_viewport_size({"width": WIDTHS["desktop"], "height": 800})
        check(page, shot, name)
    assert re.search(r"0\.40", page.goto("/dashboard/admin/prices?service=wa&country=TR").text())
    page.context.close()
