"""Helpers of the dashboard's browser tests: sign up, log in, and the accessibility check."""

from __future__ import annotations

PASSWORD = "a long enough password"


def sign_up(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard/")


def log_in(page, email: str, password: str = PASSWORD) -> None:
    """Fill and send the login form (whatever it answers)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def serious_violations(page) -> list[str]:
    """axe-core's (4.12, bundled by axe-playwright-python) serious and critical violations of the
    page as it is: rule id, impact and the first offending elements."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def sideways_overflow(page, width: int = 390) -> int:
    """How many pixels the page is wider than a phone's screen (0: no sideways scrolling)."""
    page.set_viewport_size({"width": width, "height": 800})
    try:
        return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def check(page, shot, name: str) -> None:
    """Screenshots at both widths, no sideways scrolling on a phone, no serious accessibility
    violation."""
    shot(page, name)
    assert sideways_overflow(page) == 0, name
    assert serious_violations(page) == [], name
