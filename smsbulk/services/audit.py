"""The operators' audit trail: every admin action is one event in the acting operator's own log
(models/events.py, family `admin.*`), appended in the transaction that made the change.

The payload names the actor, the action and its target. Secrets never enter it: a provider's key
is recorded as "changed", never as its value.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from ..errors import Forbidden
from ..models import Event, User
from . import events

ROLE = "admin"
PREFIX = "admin."


@dataclass(frozen=True)
class Operator:
    """Who acts in the console: an account with the admin role."""

    user_id: int
    email: str

    @classmethod
    def of(cls, user: User) -> Operator:
        """The operator a signed-in account is; Forbidden if it is not an admin (the pages check
        first: this keeps a service called from elsewhere from skipping the check)."""
        if user is None or getattr(user, "role", None) != ROLE:
            raise Forbidden("This needs an operator account")
        return cls(user.id, user.email)


def record(operator: Operator, event_type: str, target: str, **details: object) -> None:
    """Append the audit event of one action, inside the recording() that holds the operator's lock."""
    payload = {
        "actor": operator.email,
        "actor_id": operator.user_id,
        "action": event_type.removeprefix(PREFIX),
        "target": target,
        **details,
    }
    events.add(operator.user_id, event_type, payload)


@dataclass(frozen=True)
class Action:
    """One audited action, as the console lists it."""

    at: datetime.datetime
    actor: str
    action: str
    target: str
    details: dict


def recent(limit: int = 50) -> list[Action]:
    """The latest admin actions of every operator, newest first. Read through the operators'
    accounts, so it is an index range scan per operator, never a scan of the whole log."""
    admins = User.select(User.id).where(User.role == ROLE)
    query = Event.select().where((Event.user.in_(admins)) & Event.type.startswith(PREFIX))
    found = []
    for event in query.order_by(Event.id.desc()).limit(max(1, min(limit, 500))):
        payload = events.payload_of(event)
        details = {k: v for k, v in payload.items() if k not in ("actor", "actor_id", "action", "target")}
        found.append(Action(event.created_at, payload["actor"], payload["action"], payload["target"], details))
    return found
