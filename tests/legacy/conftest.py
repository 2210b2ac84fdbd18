"""Helpers for the legacy endpoint: one call, exact bytes back; accounts made quickly."""

from __future__ import annotations

import itertools
from contextlib import nullcontext
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.services import accounts
from tests.factories import Account, make_key

PATH = "/stubs/handler_api.php"
_seq = itertools.count(1)


@pytest.fixture
def make_user(app):
    """tests.factories.make_user without a dashboard password: hashing one takes ~0.1 s."""

    def make(balance: str | Decimal = "10.00", quota: int | None = None, **key_options) -> Account:
        with db.connection_context() if db.is_closed() else nullcontext():
            user = accounts.create_user(f"bot{next(_seq)}@example.com", "", Decimal(str(balance)))
            key = make_key(user, quota, **key_options)
        return Account(user, key.secret, key.id)

    return make


class Legacy:
    def __init__(self, client) -> None:
        self.client = client

    def __call__(self, key: str | None, action: str, method: str = "GET", **params):
        values = {"action": action, **({"api_key": key} if key is not None else {}), **params}
        if method == "POST":
            return self.client.post(PATH, data=values)
        return self.client.get(PATH, query_string=values)

    def text(self, key: str | None, action: str, **params) -> str:
        response = self(key, action, **params)
        assert response.status_code == 200
        return response.get_data(as_text=True)


@pytest.fixture
def legacy(client) -> Legacy:
    return Legacy(client)


@pytest.fixture
def deliver_sms(app):
    """The simulator's code arrives at the first poll (its delay is 0 in tests)."""
    from workers.tasks import poll_statuses

    return poll_statuses
