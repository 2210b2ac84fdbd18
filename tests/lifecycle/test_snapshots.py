"""Status polls from snapshots (services/snapshots.py): never staler than one event.

Two checks. Every code path that changes an activation's status or messages goes through the
snapshot writer: before each change every snapshot is filled by a poll, and after it each one
must equal the database's rendering (or be cleared, for a message without a code), so a path
that forgot the writer leaves a stale snapshot and fails. And a seeded random loop interleaves
writes (purchases over both styles, codes, codeless messages, cancel, finish, another code,
expiry, refunds, failed purchases, evictions) with polls through both styles from other threads
over HTTP, and checks that no poll answered a status older than the database's by more than
one event.
"""

from __future__ import annotations

import datetime
import json
import random
import threading
import urllib.request
import uuid
from types import SimpleNamespace

import pytest

from smsbulk import representation
from smsbulk.extensions import db, get_redis
from smsbulk.legacy import protocol
from smsbulk.models import Activation, Event
from smsbulk.models.base import utcnow
from smsbulk.providers import base as pb
from smsbulk.services import activations, lifecycle, recovery, routing, snapshots
from tests.factories import assert_ledger_exact

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def _held(activation_id: int) -> dict[str, str]:
    raw = get_redis().hgetall(snapshots.KEY.format(activation_id))
    return {name.decode(): value.decode() for name, value in raw.items()}


def _rendered(activation_id: int) -> dict[str, str]:
    """What the snapshot must hold: the answers rendered from the database now."""
    with db.connection_context():
        row = Activation.select(*activations.SHOWN, Activation.user).where(Activation.id == activation_id).get()
        fields = snapshots.answers(row.user_id, representation.activation(row))
    return {name: value.decode() if isinstance(value, bytes) else value for name, value in fields.items()}


def _status(activation_id: int) -> str:
    with db.connection_context():
        return Activation.select(Activation.status).where(Activation.id == activation_id).scalar()


def _ids(user_id: int) -> list[int]:
    with db.connection_context():
        rows = Activation.select(Activation.id).where(Activation.user == user_id).order_by(Activation.id)
        return [row.id for row in rows]


def _poll_all(client, account) -> None:
    """A REST poll and a legacy poll of each activation: every snapshot is filled."""
    for activation_id in _ids(account.user.id):
        assert client.get(f"/api/v1/activations/{activation_id}", headers=account.headers).status_code == 200
        answer = client.get(f"/stubs/handler_api.php?api_key={account.key}&action=getStatus&id={activation_id}")
        assert answer.get_data(as_text=True).startswith("STATUS_")


def _assert_current(account, codeless: set[int] = frozenset()) -> None:
    for activation_id in _ids(account.user.id):
        held = _held(activation_id)
        if "s" not in held and (activation_id in codeless or _status(activation_id) == "PENDING"):
            continue  # cleared, or a new purchase's (never written): the next poll reads the database
        answers = {name: held.get(name) for name in snapshots.ANSWERS}
        assert answers == _rendered(activation_id), activation_id


def _message(code: str | None) -> pb.Message:
    text = f"Your code is {code}" if code else "Welcome to the service"
    return pb.Message(f"m-{random.random()}", text, code, utcnow())


def _legacy(client, account, action: str, **params):
    query = "&".join(f"{name}={value}" for name, value in {"action": action, **params}.items())
    return client.get(f"/stubs/handler_api.php?api_key={account.key}&{query}").get_data(as_text=True)


def _legacy_buy(client, account, service: str) -> int:
    return int(_legacy(client, account, "getNumber", service=service, country=62).split(":")[1])


def test_every_change_of_status_or_messages_goes_through_the_snapshot_writer(app, client, make_user):
    account = make_user("50.00")
    headers = account.headers
    steps = []

    def step(name, change, codeless=frozenset()):
        _poll_all(client, account)
        change()
        _assert_current(account, set(codeless))
        steps.append(name)

    bought = []
    step("buy over REST", lambda: bought.append(client.post("/api/v1/activations", json=BUY, headers=headers).json))
    step("buy legacy", lambda: bought.append({"legacyId": _legacy_buy(client, account, "tg")}))
    step("buy again", lambda: bought.append(client.post("/api/v1/activations", json=BUY, headers=headers).json))
    first, second, third = (b["legacyId"] for b in bought)

    def record(activation_id, code):
        with db.connection_context():
            lifecycle.record_messages(activation_id, [_message(code)])

    step("a message without a code", lambda: record(first, None), codeless={first})
    step("a code", lambda: record(first, "111111"))
    step("one more code", lambda: record(first, "222222"))
    step("another code asked (REST)", lambda: client.post(f"/api/v1/activations/{first}/retry", headers=headers))
    step("a code after the retry", lambda: record(first, "333333"))
    step("finish (legacy)", lambda: _legacy(client, account, "setStatus", id=first, status=6))
    step("cancel (REST), refunded", lambda: client.post(f"/api/v1/activations/{second}/cancel", headers=headers))

    def expire():
        with db.connection_context():
            lifecycle.expire_due(now=utcnow() + datetime.timedelta(hours=2))

    step("expiry, refunded", expire)
    app.config["RQ_ASYNC"] = True  # purchases are queued, and no worker runs them
    step("a legacy purchase never fulfilled, withdrawn", lambda: _legacy(client, account, "getNumber", service="wa"))
    step("a REST purchase left PENDING", lambda: client.post("/api/v1/activations", json=BUY, headers=headers))

    def fail_pending():
        with db.connection_context():
            recovery.recover(now=utcnow() + datetime.timedelta(hours=1))

    step("the purchase deadline, failed and refunded", fail_pending)
    app.config.update(RQ_ASYNC=False, SIMULATOR_NO_NUMBERS_RATE=1.0)
    routing.reset_caches()
    step("a purchase the upstream fails, refunded", lambda: _legacy(client, account, "getNumber", service="wa"))
    with db.connection_context():
        rows = Activation.select().where(Activation.user == account.user.id).order_by(Activation.id)
        statuses = [row.status for row in rows]
    assert statuses[:3] == ["COMPLETED", "CANCELED", "EXPIRED"]
    assert statuses[3:] == ["WITHDRAWN", "FAILED", "FAILED"], statuses
    assert_ledger_exact(account)


def test_a_poll_answers_from_the_snapshot_without_the_database(app, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    key = snapshots.KEY.format(bought["legacyId"])
    assert get_redis().hget(key, "s") == b"WAITING"  # written by the purchase's commit
    # What the snapshot says is what the poll answers: the database is not read on a hit.
    get_redis().hset(key, mapping={"g": "STATUS_OK:424242", "s": "RECEIVED"})
    answer = _legacy(client, account, "getStatus", id=bought["legacyId"])
    assert answer == "STATUS_OK:424242"
    get_redis().delete(key)  # a miss reads the database and fills the snapshot again
    assert _legacy(client, account, "getStatus", id=bought["legacyId"]) == "STATUS_WAIT_CODE"
    assert get_redis().hget(key, "s") == b"WAITING"


def test_another_users_snapshot_is_not_found_on_either_style(client, make_user):
    owner, other = make_user(), make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=owner.headers).json
    assert client.get(f"/api/v1/activations/{bought['legacyId']}", headers=owner.headers).status_code == 200
    for ident in (bought["id"], bought["legacyId"]):
        answer = client.get(f"/api/v1/activations/{ident}", headers=other.headers)
        assert answer.status_code == 404 and answer.json["error"] == "activation_not_found"
    assert _legacy(client, other, "getStatus", id=bought["legacyId"]) == "NO_ACTIVATION"
    assert _legacy(client, other, "getStatusV2", id=bought["legacyId"]) == "NO_ACTIVATION"


def test_a_fill_that_raced_a_write_is_refused(app, client, make_user):
    """A poll that missed and read the database before a commit must not put back the older state."""
    account = make_user()
    activation_id = client.post("/api/v1/activations", json=BUY, headers=account.headers).json["legacyId"]
    key, connection = snapshots.KEY.format(activation_id), get_redis()

    def fill(lease: str, pairs: list) -> int:
        return snapshots.run_script(connection, snapshots._FILL, [key], [lease, 300, *pairs])

    def lease() -> str:
        token = uuid.uuid4().hex
        assert snapshots.run_script(connection, snapshots._LEASE, [key], [token, 300]) == 1
        return token

    before = [item for pair in _rendered(activation_id).items() for item in pair]  # a racing poll's read
    # A codeless message clears the answers: a fill leased before the clear is refused.
    connection.delete(key)
    early = lease()
    with db.connection_context():
        lifecycle.record_messages(activation_id, [_message(None)])
    assert connection.hget(key, "s") is None and connection.hget(key, "f") is None
    assert fill(early, before) == 0
    now = [item for pair in _rendered(activation_id).items() for item in pair]
    assert fill(lease(), now) == 1
    assert _held(activation_id)["b"] == _rendered(activation_id)["b"]
    # Evicted, leased and read, then a commit, then evicted again: the late fill finds no lease.
    connection.delete(key)
    late = lease()
    client.post(f"/api/v1/activations/{activation_id}/cancel", headers=account.headers)
    assert connection.hget(key, "s") == b"CANCELED"
    # A write older than the one held is dropped.
    assert snapshots.run_script(connection, snapshots._WRITE, [key], [1, 300, *before]) == 0
    assert connection.hget(key, "s") == b"CANCELED"
    connection.delete(key)
    assert fill(late, now) == 0 and connection.hget(key, "s") is None
    # A later lease replaces an earlier one: only the newer read fills.
    first, second = lease(), lease()
    assert fill(first, now) == 0
    assert fill(second, [item for pair in _rendered(activation_id).items() for item in pair]) == 1
    assert connection.hget(key, "s") == b"CANCELED"


# The randomized interleaving ------------------------------------------------------------------


def _legacy_token(status: str) -> str:
    """getStatus's token for a status (without the code)."""
    return protocol.status(SimpleNamespace(status=status, sms_code="0")).body.split(":")[0]


def _shown_count(activation_id: int) -> int:
    """How many changes of the shown status are committed now (see _history)."""
    return len(_history(activation_id))


def _history(activation_id: int) -> list[str]:
    """The activation's shown statuses, one per change: a commit may append two events that show
    the same status (canceled then refunded, both CANCELED), and a poll between that commit and
    its snapshot write is one change behind, not two."""
    with db.connection_context():
        rows = (
            Event.select(Event.type, Event.payload)
            .where((Event.activation == activation_id) & Event.type.in_(list(snapshots.SHOWING)))
            .order_by(Event.id)
        )
        statuses = [json.loads(row.payload)["status"] for row in rows]
    return [status for n, status in enumerate(statuses) if n == 0 or statuses[n - 1] != status]


def _reader(app, live_url: str, account, targets: list[int], seen: list, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with app.app_context():
        while not stop.is_set():
            if not targets:
                stop.wait(0.01)
                continue
            activation_id = rng.choice(targets)
            style = rng.choice(("rest", "getStatus", "getStatusV2"))
            with db.connection_context():
                committed = _shown_count(activation_id)
            if style == "rest":
                request = urllib.request.Request(f"{live_url}/api/v1/activations/{activation_id}")
                request.add_header("x-api-key", account.key)
                with urllib.request.urlopen(request, timeout=10) as answer:
                    served = json.loads(answer.read())["status"]
            else:
                url = f"{live_url}/stubs/handler_api.php?api_key={account.key}&action={style}&id={activation_id}"
                with urllib.request.urlopen(url, timeout=10) as answer:
                    served = answer.read().decode()
            seen.append((activation_id, style, committed, served))


def _write(rng: random.Random, app, client, account, ids: list[int]) -> None:
    headers = account.headers
    op = rng.choice(("buy", "buy", "code", "codeless", "cancel", "finish", "retry", "expire", "fail", "evict"))
    target = rng.choice(ids) if ids else None
    if op == "buy" or target is None:
        outcome = rng.random()  # sold; failed upstream (refunded); queued and never run (PENDING, withdrawn)
        app.config.update(SIMULATOR_NO_NUMBERS_RATE=float(0.8 < outcome < 0.9), RQ_ASYNC=outcome >= 0.9)
        routing.reset_caches()
        if rng.random() < 0.5:
            answer = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=headers)
            if answer.status_code in (201, 202):
                ids.append(answer.json["legacyId"])
        else:
            answer = _legacy(client, account, "getNumber", service="wa", country=62)
            if answer.startswith("ACCESS_NUMBER"):
                ids.append(int(answer.split(":")[1]))
        app.config.update(SIMULATOR_NO_NUMBERS_RATE=0.0, RQ_ASYNC=False)
        routing.reset_caches()
        ids[:] = _ids(account.user.id)  # failed and withdrawn purchases are polled too
    elif op in ("code", "codeless"):
        with db.connection_context():
            lifecycle.record_messages(target, [_message(str(rng.randint(1000, 9999)) if op == "code" else None)])
    elif op in ("cancel", "finish", "retry"):
        if rng.random() < 0.5:
            client.post(f"/api/v1/activations/{target}/{op}", headers=headers)
        else:
            _legacy(client, account, "setStatus", id=target, status={"cancel": 8, "finish": 6, "retry": 3}[op])
    elif op == "expire":
        with db.connection_context():
            lifecycle.expire_due(now=utcnow() + datetime.timedelta(hours=2))
    elif op == "fail":
        with db.connection_context():
            recovery.recover(now=utcnow() + datetime.timedelta(hours=1))
    else:
        get_redis().delete(snapshots.KEY.format(target))  # an eviction: the next poll fills it


@pytest.mark.parametrize("seed", [17, 1717])
def test_random_writes_and_polls_never_see_a_status_older_than_one_event(app, client, live_url, make_user, seed):
    account = make_user("200.00")
    rng, ids, seen, stop = random.Random(seed), [], [], threading.Event()
    readers = [
        threading.Thread(target=_reader, args=(app, live_url, account, ids, seen, stop, seed + n)) for n in range(3)
    ]
    for reader in readers:
        reader.start()
    try:
        for step in range(400):  # at least 80 writes and 150 polls, however busy the machine
            _write(rng, app, client, account, ids)
            if step >= 80 and len(seen) >= 150:
                break
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
    assert len(seen) >= 150 and len(ids) > 5, (len(seen), len(ids))
    histories = {activation_id: _history(activation_id) for activation_id in ids}
    for activation_id, style, committed, served in seen:
        allowed = histories[activation_id][max(0, committed - 2) :]  # the database's, or the one before
        if style == "rest":
            assert served in allowed, (activation_id, committed, served, histories[activation_id])
        elif style == "getStatus":
            assert served.split(":")[0] in {_legacy_token(status) for status in allowed}, (activation_id, served)
    # At rest, every snapshot is the database's rendering.
    for activation_id in ids:
        held = _held(activation_id)
        if "s" in held:
            assert {name: held.get(name) for name in snapshots.ANSWERS} == _rendered(activation_id)
    assert_ledger_exact(account)
