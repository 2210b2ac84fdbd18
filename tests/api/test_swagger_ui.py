"""Swagger UI, in a real browser: authorize with a key, create a key, then use the new one.

Needs Debian's Chromium (`apt-get install chromium`); marked `browser`, run by .ci/run and
`make test-browser`, not by `make test` on a machine that may have no browser.
"""

from __future__ import annotations

import json

import pytest

from smsbulk.extensions import db
from smsbulk.models import ApiKey

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_page):
    browser_page.goto("/api/docs")
    return browser_page


def authorize(page, key: str) -> None:
    """The Authorize dialog: the x-api-key scheme gets this key (any earlier one logged out first)."""
    page.click("button.authorize")
    scheme = page.locator(".auth-container").filter(has_text="x-api-key")
    logout = scheme.locator("button", has_text="Logout")
    if logout.count():
        logout.click()
    scheme.locator("input").fill(key)
    scheme.locator("button", has_text="Authorize").click()
    page.click("button.btn-done")


def try_out(page, operation_id: str, body: dict | None = None) -> tuple[int, dict]:
    """Open an operation, Try it out, Execute; the status and body Swagger UI shows."""
    operation = page.locator(f"[id$='-{operation_id}']")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    if body is not None:
        operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table .response")
    live.wait_for()
    status = int(live.locator(".response-col_status").inner_text().strip())
    text = live.locator(".response-col_description pre.microlight").first.inner_text()
    return status, json.loads(text)


def test_swagger_ui_creates_a_key_and_the_new_key_works(page, make_user):
    owner = make_user("7.00")
    page.wait_for_selector("[id$='-createKey']")
    authorize(page, owner.key)
    status, created = try_out(page, "createKey", {"name": "made in swagger", "scopes": ["read"]})
    assert status == 201, created
    assert created["name"] == "made in swagger" and created["scopes"] == ["read"] and len(created["secret"]) == 32
    with db.connection_context():
        assert ApiKey.get(ApiKey.public_id == created["id"]).prefix == created["secret"][:8]
    authorize(page, created["secret"])
    status, balance = try_out(page, "getBalance")
    assert (status, balance) == (200, {"balance": "7.00", "currency": "USD"})
    status, current = try_out(page, "getCurrentKey")
    assert status == 200 and current["id"] == created["id"] and current["usageToday"] == 2
