"""Helpers for rental tests: rent over REST, let time pass on a rental, read its money."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import LedgerEntry, Rental, RentalCharge
from smsbulk.models.base import utcnow
from tests.legacy.conftest import legacy, make_user  # noqa: F401 - the quick account and protocol fixtures

UK = {"serviceCode": "wa", "countryIso": "GB", "hours": 4}


@pytest.fixture
def rent(client):
    """POST /api/v1/rentals as an account; the answer's JSON (with its HTTP status)."""

    def rent(account, **body) -> dict:
        response = client.post("/api/v1/rentals", json={**UK, **body}, headers=account.headers)
        return {**(response.json or {}), "_status": response.status_code}

    return rent


@pytest.fixture
def deliver(app):
    """One poll cycle: the simulator's SMS arrive (its delay is 0 in tests)."""
    from workers.tasks import poll_statuses

    return poll_statuses


def started_ago(legacy_id: int, minutes: float) -> None:
    """Move a rental's start (and end) back in time, as if `minutes` had passed."""
    shift = datetime.timedelta(minutes=minutes)
    with db.connection_context():
        rental = Rental.get_by_id(legacy_id)
        Rental.update(started_at=rental.started_at - shift, ends_at=rental.ends_at - shift).where(
            Rental.id == legacy_id
        ).execute()


def refunds_of(legacy_id: int) -> list[Decimal]:
    with db.connection_context():
        rows = (
            LedgerEntry.select(LedgerEntry.amount)
            .join(RentalCharge)
            .where((RentalCharge.rental == legacy_id) & (LedgerEntry.kind == "refund"))
            .order_by(LedgerEntry.id)
        )
        return [row.amount for row in rows]


def paid_for(legacy_id: int) -> Decimal:
    with db.connection_context():
        rows = (
            LedgerEntry.select(LedgerEntry.amount)
            .join(RentalCharge)
            .where((RentalCharge.rental == legacy_id) & (LedgerEntry.kind == "purchase"))
        )
        return -sum((row.amount for row in rows), Decimal("0.00"))


def now() -> datetime.datetime:
    return utcnow()


@pytest.fixture
def deliver_sms(app):
    from workers.tasks import poll_statuses

    return poll_statuses
