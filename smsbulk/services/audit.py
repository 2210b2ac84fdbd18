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
    """The latest admin actions of every operator, newest first: per operator one index range scan
    of their own log ((user, id) backwards), merged here - operators are few, the log is not, and
    one query over all of them could walk the whole log by id."""
    limit = max(1, min(limit, 500))
    admins = [user_id for (user_id,) in User.select(User.id).where(User.role == ROLE).tuples()]
    found: list[Event] = []
    for user_id in admins:
        query = Event.select().where((Event.user == user_id) & Event.type.startswith(PREFIX))
        found.extend(query.order_by(Event.id.desc()).limit(limit))
    found.sort(key=lambda event: event.id, reverse=True)
    return [_action(event) for event in found[:limit]]


def _action(event: Event) -> Action:
    payload = events.payload_of(event)
    details = {k: v for k, v in payload.items() if k not in ("actor", "actor_id", "action", "target")}
    return Action(event.created_at, payload["actor"], payload["action"], payload["target"], details)
