"""RQ job functions: ids in, one service call each, under the worker's app context."""

from __future__ import annotations

from smsbulk.extensions import db
from smsbulk.services import fulfilment, lifecycle, providers


class _connection:
    """Open a connection for the job unless the caller (an inline job in a request) has one."""

    def __enter__(self):
        self.opened = db.is_closed()
        if self.opened:
            db.connect()

    def __exit__(self, *exc):
        if self.opened and not db.is_closed():
            db.close()


def purchase(activation_id: int) -> str:
    with _connection():
        return fulfilment.fulfil(activation_id)


def provider_action(activation_id: int, action: str) -> str:
    with _connection():
        return lifecycle.provider_action(activation_id, action)


def poll_statuses() -> dict:
    with _connection():
        return lifecycle.poll_once()


def expire_due() -> dict:
    with _connection():
        return lifecycle.expire_due()


def sweep_stuck() -> dict:
    with _connection():
        return lifecycle.sweep_stuck()


def sync_prices() -> dict:
    with _connection():
        return providers.sync_prices()
