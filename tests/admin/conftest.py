"""An operator (an account with the admin role) for the console's service tests."""

from __future__ import annotations

import itertools

import pytest

from smsbulk.extensions import db
from smsbulk.services import accounts, audit

_seq = itertools.count(1)


@pytest.fixture
def operator(app) -> audit.Operator:
    with db.connection_context():
        user = accounts.create_user(f"ops{next(_seq)}@example.com", "", role="admin")
        return audit.Operator.of(user)
