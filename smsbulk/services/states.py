"""The activation lifecycle's machine: TRANSITIONS (models/activations.py), the event of each
target state, and the moves the services make with it.

Every status change of an activation is one of these calls; a refunded target also writes the
refund (a ledger row, its `ledger.entry` event and `activation.refunded`) in the same transaction,
and a target that must reach the upstream (cancel, finish, another code) records that action as
owed on the row, in the same UPDATE, for the provider job (and the recovery pass) to deliver.
"""

from __future__ import annotations

from .. import representation
from ..models import Activation
from ..models import activations as st
from ..models import events as types
from . import events, wallets
from .machine import Machine

EVENT_TYPES = {
    st.WAITING: types.NUMBER_ASSIGNED,
    st.RECEIVED: types.SMS_RECEIVED,
    st.RETRY: types.ANOTHER_CODE_ASKED,
    st.COMPLETED: types.COMPLETED,
    st.CANCELED: types.CANCELED,
    st.EXPIRED: types.EXPIRED,
    st.FAILED: types.FAILED,
    st.WITHDRAWN: types.WITHDRAWN,
}

# What an answer about an activation shows (the REST representation): a status poll over REST
# reads these, not the whole row (each datetime column costs a parse on SQLite).
SHOWN = (
    Activation.id,
    Activation.public_id,
    Activation.phone_number,
    Activation.status,
    Activation.user_cost,
    Activation.service,
    Activation.country,
    Activation.operator,
    Activation.sms_code,
    Activation.created_at,
    Activation.expires_at,
)
# What a move reads back: what the representation shows, the owner, and the upstream's handle.
COLUMNS = (*SHOWN, Activation.user, Activation.provider, Activation.provider_ref)

ACTIVATIONS = Machine(Activation, st.TRANSITIONS, EVENT_TYPES, representation.activation, COLUMNS)


def _refund(row: Activation, recording: events.Recording) -> None:
    wallets.refund_for(row)
    recording.add(row.user_id, types.REFUNDED, representation.activation(row), row.id)


def move(
    activation_id: int, user_id: int, target: str, changes: dict | None = None, known: dict | None = None
) -> Activation | None:
    """The one way an activation's status changes (see Machine.move); a refunded target refunds.
    The row as it is now, or None if another change won."""
    then = _refund if target in st.REFUNDED else None
    return ACTIVATIONS.move(activation_id, user_id, target, changes, then=then, known=known)


def created(activation: Activation) -> None:
    """The event of a new activation, inside the recording() that inserted it."""
    activation.known_messages = []
    events.add(activation.user_id, types.ACTIVATION_CREATED, representation.activation(activation), activation.id)
