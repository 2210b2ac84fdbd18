"""Driving the dashboard with Flask's test client, as a browser would: forms carry their CSRF token."""

from __future__ import annotations

import re

from smsbulk.extensions import db
from smsbulk.services import accounts

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token_of(client, path: str = "/dashboard/login") -> str:
    """The CSRF token the form at this page carries (one per session)."""
    html = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post(client, path: str, data: dict, token_from: str | None = None):
    """A form post with the token of the page it is on (or of token_from)."""
    return client.post(path, data={**data, "csrf_token": token_of(client, token_from or path)})


def account(email: str = "owner@example.com", password: str = PASSWORD, role: str = "user"):
    with db.connection_context():
        return accounts.create_user(email, password, role=role)


def log_in(client, email: str, password: str = PASSWORD):
    return post(client, "/dashboard/login", {"email": email, "password": password})
