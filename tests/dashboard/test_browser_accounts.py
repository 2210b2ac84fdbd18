"""The dashboard in Chromium: sign up, log out, log in (flow 1)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
PASSWORD = "a long enough password"


def sign_up(page, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_then_log_out_and_in(browser_page, shot):
    page = browser_page
    page.goto("/dashboard/signup")
    shot(page, "signup")
    sign_up(page, "flow1@example.com")
    assert page.locator("#balance").inner_text().startswith("0.00")
    assert "flow1@example.com" in page.locator(".who").inner_text()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/dashboard/login")
    shot(page, "login")
    log_in(page, "flow1@example.com")
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    shot(page, "overview-empty")
