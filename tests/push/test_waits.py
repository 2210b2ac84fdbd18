"""Long-poll waits: the events API, one activation over REST, and legacy getStatus&wait=.

A waiting request is woken through Redis by a commit made in another thread (the poller
recording a code, a purchase); the tests check what it answers and that it answered before its
time was up, not how fast (the benchmark measures that).
"""

from __future__ import annotations

import threading
import time

from smsbulk.extensions import db
from smsbulk.services import waits
from workers.tasks import poll_statuses

from .conftest import BUY, events_of


def later(app, seconds: float, work) -> threading.Thread:
    """Run work() in another thread, in an app context, after a while."""

    def run():
        time.sleep(seconds)
        with app.app_context():
            work()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_an_events_wait_answers_as_soon_as_an_event_commits(app, client, make_user):
    account = make_user()
    cursor = events_of(client, account)[-1]["id"]
    buyer = later(app, 0.5, lambda: app.test_client().post("/api/v1/activations", json=BUY, headers=account.headers))
    answer, took = timed(
        lambda: client.get(f"/api/v1/events?after={cursor}&wait=20&types=activation.created", headers=account.headers)
    )
    buyer.join()
    assert answer.status_code == 200 and took < 10
    [event] = answer.json["events"]
    assert event["type"] == "activation.created" and answer.json["cursor"] == event["id"]


def test_an_events_wait_with_nothing_new_answers_an_empty_page_when_its_time_is_up(client, make_user):
    account = make_user()
    cursor = events_of(client, account)[-1]["id"]
    answer, took = timed(lambda: client.get(f"/api/v1/events?after={cursor}&wait=1", headers=account.headers))
    assert answer.json == {"events": [], "cursor": cursor, "hasMore": False} and 0.9 < took < 5


def test_one_waiting_call_counts_as_one_request(client, make_user):
    account = make_user()
    remaining = []
    for wait in (0, 1, 0):
        answer = client.get(f"/api/v1/events?after=999999&wait={wait}", headers=account.headers)
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
    assert remaining[0] - remaining[1] == 1 and remaining[1] - remaining[2] == 1


def test_a_wait_woken_again_and_again_still_counts_as_one_request_on_both_styles(app, client, make_user, monkeypatch):
    account = make_user()
    first = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    woken = []
    wake = waits.Hub.wake
    monkeypatch.setattr(waits.Hub, "wake", lambda hub, message: (woken.append(message), wake(hub, message)))
    start = client.get("/api/v1/events?after=999999", headers=account.headers)
    # Woken by the code's events, none of them the one it waits for: it reads again, and waits on.
    poller = later(app, 0.3, poll_statuses)
    events = client.get(
        f"/api/v1/events?after={start.json['cursor']}&types=webhook.disabled&wait=2", headers=account.headers
    )
    poller.join()
    assert events.json["events"] == [] and woken
    second = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    poller = later(app, 0.3, poll_statuses)
    status = client.get(
        f"/stubs/handler_api.php?api_key={account.key}&action=getStatus&id={second['legacyId']}&wait=20"
    )
    poller.join()
    assert status.data.startswith(b"STATUS_OK:") and first["id"] != second["id"]
    end = client.get("/api/v1/events?after=999999", headers=account.headers)
    used = int(start.headers["X-RateLimit-Remaining"]) - int(end.headers["X-RateLimit-Remaining"])
    assert used == 4  # the events wait, the second purchase, getStatus&wait and this call


def test_events_are_paged_oldest_first_by_cursor_and_filtered(client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    every = events_of(client, account)
    ids = [event["id"] for event in every]
    assert ids == sorted(ids)
    first = client.get("/api/v1/events?limit=2", headers=account.headers).json
    assert [e["id"] for e in first["events"]] == ids[:2] and first["hasMore"] and first["cursor"] == ids[1]
    rest = client.get(f"/api/v1/events?after={first['cursor']}", headers=account.headers).json
    assert [e["id"] for e in rest["events"]] == ids[2:] and not rest["hasMore"]
    mine = events_of(client, account, activationId=bought["id"])
    assert mine and all(e["data"].get("id") == bought["id"] or e["type"] == "ledger.entry" for e in mine)
    assert {e["type"] for e in events_of(client, account, types="ledger.entry")} == {"ledger.entry"}
    assert {e["type"].split(".")[0] for e in events_of(client, account, types="activation.*")} == {"activation"}
    for bad in ("after=-1", "limit=0", "limit=501", "wait=31", "types=nope", "activationId=act_nope"):
        answer = client.get(f"/api/v1/events?{bad}", headers=account.headers)
        assert answer.status_code in (404, 422), bad


def test_another_accounts_events_are_never_shown(client, make_user):
    mine, theirs = make_user(), make_user()
    client.post("/api/v1/activations", json=BUY, headers=theirs.headers)
    assert all(e["type"] in ("ledger.entry", "key.created") for e in events_of(client, mine))


def test_an_activation_wait_answers_when_the_code_arrives(app, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    assert bought["status"] == "WAITING"
    poller = later(app, 0.5, poll_statuses)
    answer, took = timed(lambda: client.get(f"/api/v1/activations/{bought['id']}?wait=20", headers=account.headers))
    poller.join()
    assert answer.status_code == 200 and answer.json["status"] == "RECEIVED" and answer.json["smsCode"]
    assert took < 10 and answer.headers["ETag"]


def test_an_unchanged_activation_answers_304_to_if_none_match_and_the_same_body_to_since(client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    path = f"/api/v1/activations/{bought['id']}"
    first = client.get(path, headers=account.headers)
    tag = first.headers["ETag"]
    assert client.get(path, headers={**account.headers, "If-None-Match": tag}).status_code == 304
    waited, took = timed(lambda: client.get(path + "?wait=1", headers={**account.headers, "If-None-Match": tag}))
    assert waited.status_code == 304 and waited.headers["ETag"] == tag and took >= 0.9
    since = client.get(f"{path}?wait=1&since={tag.strip(chr(34))}", headers=account.headers)
    assert since.status_code == 200 and since.data == first.data and since.headers["ETag"] == tag
    stale = client.get(path + "?wait=5", headers={**account.headers, "If-None-Match": '"not-this-one"'})
    assert stale.status_code == 200 and stale.json["id"] == bought["id"]  # differs from what was seen: at once


def test_a_wait_on_an_activation_waiting_for_nothing_answers_at_once(client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    poll_statuses()
    answer, took = timed(lambda: client.get(f"/api/v1/activations/{bought['id']}?wait=20", headers=account.headers))
    assert answer.json["status"] == "RECEIVED" and took < 5


def test_legacy_get_status_with_wait_answers_when_the_code_arrives(app, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    base = f"/stubs/handler_api.php?api_key={account.key}&action=getStatus&id={bought['legacyId']}"
    assert client.get(base).data == b"STATUS_WAIT_CODE"  # an existing bot: unaffected
    assert client.get(base + "&wait=abc").data == b"STATUS_WAIT_CODE"  # ignored like any unknown value
    poller = later(app, 0.5, poll_statuses)
    answer, took = timed(lambda: client.get(base + "&wait=20"))
    poller.join()
    assert answer.data.startswith(b"STATUS_OK:") and took < 10


def test_a_waiting_request_holds_no_database_connection(app, client, make_user):
    account = make_user()
    cursor = events_of(client, account)[-1]["id"]
    seen = {}

    def look():
        time.sleep(0.5)
        seen["in use"] = len(db.obj._in_use)

    looker = threading.Thread(target=look)
    looker.start()
    client.get(f"/api/v1/events?after={cursor}&wait=1", headers=account.headers)
    looker.join()
    assert seen["in use"] == 0


def test_a_wait_answered_from_snapshots_takes_no_database_connection(app, client, make_user, monkeypatch):
    """Before, each request took a pooled connection as it began and each waiter took one again
    when woken: 2,000 waiters whose time was up at once queued for the pool, and a waiter woken by
    its code queued behind them. A read the snapshots answer needs none."""
    app.config["KEY_CACHE_SECONDS"] = 5  # as in production: the key is read once, then cached
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    path = f"/api/v1/activations/{bought['id']}"
    legacy = f"/stubs/handler_api.php?api_key={account.key}&action=getStatus&id={bought['legacyId']}"
    client.get(path, headers=account.headers)  # the key, now cached
    taken = []
    connect = db.obj.connect

    def counted(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():  # the test client's requests
            taken.append(1)
        return connect(*args, **kwargs)

    monkeypatch.setattr(db.obj, "connect", counted)
    poller = later(app, 0.5, poll_statuses)
    answer = client.get(path + "?wait=20", headers=account.headers)
    poller.join()
    assert answer.json["status"] == "RECEIVED" and taken == []
    assert client.get(legacy + "&wait=20").data.startswith(b"STATUS_OK:") and taken == []
    assert client.get("/api/v1/wallet/transactions", headers=account.headers).status_code == 200
    assert taken == [1]  # a read of the database still takes one


def test_waits_holding_threads_are_bounded_under_the_thread_model(app, client, make_user):
    app.config["WAIT_MAX_THREADS"] = 0  # no thread may be held: a wait answers at once
    account = make_user()
    answer, took = timed(lambda: client.get("/api/v1/events?after=999999&wait=10", headers=account.headers))
    assert answer.json["events"] == [] and took < 5
