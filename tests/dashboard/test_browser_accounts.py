"""The dashboard in Chromium: sign up, log out, log in (flow 1); the lock after failed logins
(flow 9); a form without its CSRF token (flow 8); a password change."""

from __future__ import annotations

import pytest

from smsbulk.extensions import db
from smsbulk.models import User

from .browser import PASSWORD, check, log_in, sign_up

pytestmark = pytest.mark.browser


def test_sign_up_then_log_out_and_in(browser_page, shot):
    page = browser_page
    page.goto("/dashboard/signup")
    check(page, shot, "signup")
    sign_up(page, "flow1@example.com")
    assert page.locator("#balance").inner_text().startswith("0.00")
    assert "flow1@example.com" in page.locator(".who").inner_text()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/dashboard/login")
    check(page, shot, "login")
    log_in(page, "flow1@example.com")
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    check(page, shot, "overview-new-account")


def test_logins_lock_after_the_configured_failures(app, browser_page, shot):
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_SECONDS=600)
    page = browser_page
    sign_up(page, "flow9@example.com")
    page.context.clear_cookies()
    for _ in range(3):
        log_in(page, "flow9@example.com", "wrong password")
        assert page.get_by_role("alert").inner_text() == "Wrong email or password"
    log_in(page, "flow9@example.com")  # the right password, too late
    assert "Too many failed logins" in page.get_by_role("alert").inner_text()
    check(page, shot, "login-locked")
    page.goto("/dashboard/")
    assert "/dashboard/login" in page.url


def test_a_form_without_its_token_is_refused(browser_page, shot):
    page = browser_page
    sign_up(page, "flow8@example.com")
    page.goto("/dashboard/account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("another long password")
    page.eval_on_selector("main form input[name=csrf_token]", "input => input.remove()")
    page.get_by_role("button", name="Change password").click()
    assert page.get_by_role("heading", name="Form expired").is_visible()
    check(page, shot, "csrf-refused")
    with db.connection_context():
        assert User.get(User.email == "flow8@example.com").session_version == 0


def test_change_password_logs_out_the_other_browser(chromium, browser_page, live_url, shot):
    page = browser_page
    sign_up(page, "pw@example.com")
    other = chromium.new_context(base_url=live_url).new_page()
    log_in(other, "pw@example.com")
    assert other.url.endswith("/dashboard/")
    page.goto("/dashboard/account")
    check(page, shot, "account")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("another long password")
    page.get_by_role("button", name="Change password").click()
    assert "Password changed" in page.locator(".flash").inner_text()
    other.goto("/dashboard/")
    assert "/dashboard/login" in other.url
    other.context.close()
