"""One state machine: every status change is a move along TRANSITIONS with exactly one event."""

from __future__ import annotations

import re
from pathlib import Path

from smsbulk.extensions import db
from smsbulk.models import Activation
from smsbulk.models import activations as st
from smsbulk.services import events, lifecycle, states
from tests.factories import assert_ledger_exact

ROOT = Path(__file__).resolve().parents[2]
BUY = {"serviceCode": "wa", "countryIso": "TR"}


def test_no_code_but_the_machine_writes_an_activations_status():
    """A status is written by Machine.move/Batch only: no other UPDATE names the status column."""
    allowed = {ROOT / "smsbulk" / "services" / "machine.py"}
    offenders = []
    for path in (ROOT / "smsbulk").rglob("*.py"):
        if path in allowed or "migrations" in path.parts:
            continue
        text = path.read_text()
        for match in re.finditer(r"\.update\((?:[^()]|\([^()]*\))*\)", text, re.S):
            if re.search(r"\bstatus\s*=|\"status\"\s*:|Activation\.status\s*:", match.group(0)):
                offenders.append(f"{path.relative_to(ROOT)}: {match.group(0)[:80]}")
    assert offenders == []


def test_every_target_state_has_an_event_and_only_known_states_appear():
    assert set(st.TRANSITIONS) == set(states.EVENT_TYPES)
    for target, sources in st.TRANSITIONS.items():
        assert target in st.STATUSES and set(sources) <= set(st.STATUSES)


def _events(user_id: int, after: int = 0) -> list:
    with db.connection_context():
        return events.after(user_id, after, limit=500)


def test_a_purchase_and_its_cancel_write_their_events_with_what_the_rest_api_shows(client, make_user):
    account = make_user()
    start = _events(account.user.id)[-1].id  # the opening deposit
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    types = [e.type for e in _events(account.user.id, start)]
    assert types == ["activation.created", "ledger.entry", "activation.number_assigned"]
    shown = client.get(f"/api/v1/activations/{bought['id']}", headers=account.headers).json
    assert events.payload_of(_events(account.user.id, start)[-1]) == shown
    middle = _events(account.user.id)[-1].id
    canceled = client.post(f"/api/v1/activations/{bought['id']}/cancel", headers=account.headers).json
    after_cancel = _events(account.user.id, middle)
    assert [e.type for e in after_cancel] == ["activation.canceled", "ledger.entry", "activation.refunded"]
    assert events.payload_of(after_cancel[0]) == canceled
    ledger = client.get("/api/v1/wallet/transactions", headers=account.headers).json
    assert events.payload_of(after_cancel[1]) == ledger[0]  # the refund, as the ledger lists it
    assert_ledger_exact(account)


def test_a_code_from_the_poller_is_one_sms_received_event_carrying_the_message(app, client, make_user):
    account = make_user()
    app.config["SIMULATOR_SMS_DELAY_SECONDS"] = 0
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    start = _events(account.user.id)[-1].id
    with db.connection_context():
        lifecycle.poll_once()
        lifecycle.poll_once()  # nothing new: no event
    received = _events(account.user.id, start)
    assert [e.type for e in received] == ["activation.sms_received"]
    shown = client.get(f"/api/v1/activations/{bought['id']}", headers=account.headers).json
    assert events.payload_of(received[0]) == shown and shown["smsCode"] and len(shown["sms"]) == 1


def test_a_move_from_a_state_not_allowed_changes_nothing_and_writes_no_event(client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    before = _events(account.user.id)
    with db.connection_context():
        assert states.move(bought["legacyId"], account.user.id, st.COMPLETED) is None  # WAITING -> COMPLETED
        assert states.move(bought["legacyId"], account.user.id + 1, st.CANCELED) is None  # not the owner
        assert Activation.get_by_id(bought["legacyId"]).status == st.WAITING
    assert _events(account.user.id) == before
