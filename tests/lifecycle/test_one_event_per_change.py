"""Property: over random sequences of operations on both API styles, every status change of an
activation writes exactly one event, carrying the new state, and nothing else writes one."""

from __future__ import annotations

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as s

from smsbulk.extensions import db
from smsbulk.models import Activation
from smsbulk.models.base import utcnow
from smsbulk.services import events, lifecycle, recovery, states
from tests.factories import assert_ledger_exact

STATUS_EVENTS = set(states.EVENT_TYPES.values())
LEGACY_STATUS = {"cancel": 8, "finish": 6, "retry": 3}

operation = s.one_of(
    s.tuples(s.just("buy"), s.sampled_from(["rest", "legacy"]), s.sampled_from(["wa", "tg"])),
    s.tuples(s.sampled_from(["cancel", "finish", "retry"]), s.sampled_from(["rest", "legacy"]), s.integers(0, 5)),
    s.tuples(s.just("poll"), s.just(""), s.just(0)),
    s.tuples(s.just("expire"), s.just(""), s.integers(0, 1)),
)


def _statuses(user_id: int) -> dict[int, str]:
    with db.connection_context():
        return dict(Activation.select(Activation.id, Activation.status).where(Activation.user == user_id).tuples())


def _legacy(account, action: str, **params) -> str:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"/stubs/handler_api.php?api_key={account.key}&action={action}&{query}"


def _apply(client, account, ids: list[int], op) -> None:
    name, style, arg = op
    headers = account.headers
    if name == "buy":
        if style == "rest":
            answer = client.post("/api/v1/activations", json={"serviceCode": arg, "countryIso": "TR"}, headers=headers)
            ids.append(answer.json["legacyId"])
        else:
            answer = client.get(
                f"/stubs/handler_api.php?api_key={account.key}&action=getNumber&service={arg}&country=62"
            )
            ids.append(int(answer.get_data(as_text=True).split(":")[1]))
    elif name in LEGACY_STATUS:
        if not ids:
            return
        target = ids[arg % len(ids)]
        if style == "rest":
            client.post(f"/api/v1/activations/{target}/{name}", headers=headers)
        else:
            client.get(_legacy(account, "setStatus", id=target, status=LEGACY_STATUS[name]))
    else:
        with db.connection_context():
            if name == "poll":
                lifecycle.poll_once()
            else:
                later = utcnow() + datetime.timedelta(hours=arg + 1) if arg else utcnow()
                lifecycle.expire_due(now=later)
                recovery.recover(now=later)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s.lists(operation, min_size=1, max_size=12))
def test_every_status_change_writes_exactly_one_event_with_the_new_state(client, make_user, ops):
    account = make_user("50.00")
    user_id, ids = account.user.id, []
    with db.connection_context():
        cursor = events.after(user_id, limit=500)[-1].id
    for op in ops:
        before = _statuses(user_id)
        _apply(client, account, ids, op)
        after = _statuses(user_id)
        with db.connection_context():
            new = events.after(user_id, cursor, limit=500)
        if new:
            cursor = new[-1].id
        for activation_id, status in after.items():
            changes = [e for e in new if e.activation_id == activation_id and e.type in STATUS_EVENTS]
            if before.get(activation_id) in (None, status):
                created = before.get(activation_id) is None and status != "PENDING"
                assert len(changes) == int(created), (op, status, [e.type for e in changes])
            else:
                assert len(changes) == 1, (op, before.get(activation_id), status, [e.type for e in changes])
            if changes:
                assert events.payload_of(changes[-1])["status"] == status
    assert_ledger_exact(account)
