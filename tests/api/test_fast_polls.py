"""Status polls answered before Flask (smsbulk/polls.py) answer exactly what Flask answers.

Each request is sent twice, once with FAST_POLLS off (Flask's views, hooks and renderers) and
once with it on, and the two answers must be the same: status, body, and every header in order
(the request id is given, so it is the same; the remaining quota is one less, as it should be).
Requests the fast path must leave to Flask (another user's activation, a bad or unscoped key,
`wait`, a cookie, a snapshot not in Redis) are checked to have gone there, and the quota counts
each request once, a refused one included.
"""

from __future__ import annotations

import time

import pytest

from smsbulk import metrics, polls
from smsbulk.extensions import db, get_redis
from smsbulk.models.base import utcnow
from smsbulk.providers import base as pb
from smsbulk.services import lifecycle, snapshots

BUY = {"serviceCode": "wa", "countryIso": "TR"}
LEGACY = "/stubs/handler_api.php"


@pytest.fixture
def fast(app, monkeypatch):
    app.config["KEY_CACHE_SECONDS"] = 5.0  # the fast path serves keys this process has cached
    observe = polls._observe

    def counted(environ, *args):
        served.append(environ.get("PATH_INFO"))
        observe(environ, *args)

    monkeypatch.setattr(polls, "_observe", counted)  # called only by a request the fast path answers
    served.clear()
    return app


served: list[str] = []


def _served(call) -> bool:
    """Whether the fast path answered the request `call()` made; the answer."""
    before = len(served)
    answer = call()
    return len(served) > before, answer


def _both(app, client, path: str, headers: dict | None = None, expect_fast: bool = True):
    """The answer with FAST_POLLS off, then on; assert they match; the fast one."""
    headers = {"X-Request-Id": "parity-1", **(headers or {})}
    app.config["FAST_POLLS"] = False
    was_fast, slow = _served(lambda: client.get(path, headers=headers))
    assert not was_fast
    app.config["FAST_POLLS"] = True
    was_fast, quick = _served(lambda: client.get(path, headers=headers))
    assert was_fast == expect_fast, path
    assert (quick.status_code, quick.get_data()) == (slow.status_code, slow.get_data()), path
    slow_headers = [(k, v) for k, v in slow.headers.items() if k != "X-RateLimit-Remaining"]
    quick_headers = [(k, v) for k, v in quick.headers.items() if k != "X-RateLimit-Remaining"]
    assert quick_headers == slow_headers, path
    if "X-RateLimit-Remaining" in slow.headers:
        assert int(quick.headers["X-RateLimit-Remaining"]) == int(slow.headers["X-RateLimit-Remaining"]) - 1
    return quick


def _legacy(account, action: str, activation_id, **extra) -> str:
    query = "&".join(
        f"{k}={v}" for k, v in {"api_key": account.key, "action": action, "id": activation_id, **extra}.items()
    )
    return f"{LEGACY}?{query}"


def _record(activation_id: int, code: str | None) -> None:
    with db.connection_context():
        lifecycle.record_messages(activation_id, [pb.Message(f"m-{time.monotonic()}", f"code {code}", code, utcnow())])


def test_fast_answers_are_flasks_answers_for_every_status_and_style(fast, client, make_user):
    account = make_user("20.00")
    waiting, received, canceled = (
        client.post("/api/v1/activations", json=BUY, headers=account.headers).json for _ in range(3)
    )
    _record(received["legacyId"], "123456")
    client.post(f"/api/v1/activations/{canceled['id']}/cancel", headers=account.headers)
    for activation in (waiting, received, canceled):
        legacy_id, public_id = activation["legacyId"], activation["id"]
        client.get(f"/api/v1/activations/{public_id}", headers=account.headers)  # learns the public id
        for action in ("getStatus", "getStatusV2"):
            _both(fast, client, _legacy(account, action, legacy_id))
        bearer = {"Authorization": f"Bearer {account.key}"}
        for ident in (public_id, legacy_id):
            answer = _both(fast, client, f"/api/v1/activations/{ident}", account.headers)
            _both(fast, client, f"/api/v1/activations/{ident}", bearer)
            etag = answer.headers["ETag"]
            unchanged = _both(fast, client, f"/api/v1/activations/{ident}", {**account.headers, "If-None-Match": etag})
            assert unchanged.status_code == 304
            _both(fast, client, f"/api/v1/activations/{ident}", {**account.headers, "If-None-Match": f"W/{etag}"})
            _both(fast, client, f"/api/v1/activations/{ident}", {**account.headers, "If-None-Match": '"other"'})
        # The legacy key may come in headers too.
        _both(fast, client, f"{LEGACY}?action=getStatus&id={legacy_id}", {"x-api-key": account.key})


def test_what_the_fast_path_cannot_answer_goes_to_flask(fast, client, make_user):
    owner, other = make_user(), make_user()
    reader = make_user(scopes=["purchase"])
    bought = client.post("/api/v1/activations", json=BUY, headers=owner.headers).json
    legacy_id = bought["legacyId"]
    _both(fast, client, _legacy(owner, "getStatus", legacy_id))  # filled and cached
    for account, path in (
        (other, _legacy(other, "getStatus", legacy_id)),  # another user's: NO_ACTIVATION
        (other, f"/api/v1/activations/{legacy_id}"),  # 404
        (reader, _legacy(reader, "getStatus", legacy_id)),  # no read scope
        (owner, _legacy(owner, "getStatus", legacy_id, wait=1)),  # a wait
        (owner, _legacy(owner, "getStatus", "99999")),  # no such activation
        (owner, _legacy(owner, "getStatus", "abc")),  # not an id
        (owner, f"/api/v1/activations/{legacy_id}?since=abc"),
    ):
        headers = account.headers if path.startswith("/api") else {}
        client.get(path, headers=headers)  # the key is cached
        _both(fast, client, path, headers, expect_fast=False)
    bad = _legacy(owner, "getStatus", legacy_id).replace(owner.key, "x" * 32)
    _both(fast, client, bad, expect_fast=False)
    client.set_cookie("session", "abc")
    _both(fast, client, _legacy(owner, "getStatus", legacy_id), expect_fast=False)
    client.delete_cookie("session")
    get_redis().delete(snapshots.KEY.format(legacy_id))
    snapshots.copies.reset(snapshots.copies.live)
    was_fast, answer = _served(lambda: client.get(_legacy(owner, "getStatus", legacy_id)))
    assert not was_fast and answer.get_data(as_text=True) == "STATUS_WAIT_CODE"
    assert _served(lambda: client.get(_legacy(owner, "getStatus", legacy_id)))[0]  # filled by the miss


def test_each_poll_counts_once_against_the_quota_a_refused_one_too(fast, client, make_user):
    account = make_user(quota=6)
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json  # 1
    path = _legacy(account, "getStatus", bought["legacyId"])
    assert client.get(path).get_data(as_text=True) == "STATUS_WAIT_CODE"  # 2, by Flask (key not cached yet)
    assert [_served(lambda: client.get(path))[0] for _ in range(4)] == [True] * 4  # 3..6, fast
    was_fast, refused = _served(lambda: client.get(path))
    assert refused.get_data(as_text=True) == "RATE_LIMITED" and not was_fast
    again = client.get("/api/v1/activations", headers=account.headers)
    assert again.status_code == 429 and again.headers["X-RateLimit-Remaining"] == "0"
    # Six admitted, each counted once (a request counted twice would have been refused earlier);
    # refusals do not add to the counter.
    [counter] = list(get_redis().scan_iter(f"quota:{account.key_id}:*"))
    assert int(get_redis().get(counter)) == 6


def test_fast_polls_are_in_the_metrics_and_the_access_line(fast, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    path = _legacy(account, "getStatus", bought["legacyId"])
    client.get(path)
    counter = metrics.REQUESTS.labels("/stubs/handler_api.php", "getStatus", "GET", "200")
    before = counter._value.get()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stubs/handler_api.php", "QUERY_STRING": path.split("?")[1]}
    answer = b"".join(fast.wsgi_app(environ, lambda status, headers: None))
    assert answer == b"STATUS_WAIT_CODE" and served
    assert counter._value.get() == before + 1
    assert (environ["smsbulk.route"], environ["smsbulk.action"]) == ("/stubs/handler_api.php", "getStatus")
    assert len(environ["smsbulk.request_id"]) == 32  # the access line names the request


def test_a_change_reaches_the_fast_path_within_the_event_channels_delay(fast, client, make_user):
    account = make_user()
    bought = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    path = _legacy(account, "getStatus", bought["legacyId"])
    client.get(path)
    deadline = time.monotonic() + 5
    while not snapshots.copies.live and time.monotonic() < deadline:  # the subscription is up
        client.get(path)
        time.sleep(0.05)
    assert _served(lambda: client.get(path))[0]
    assert snapshots.copies.get(bought["legacyId"]) is not None  # this process keeps a copy
    _record(bought["legacyId"], "424242")
    answers = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        answers.append(client.get(path).get_data(as_text=True))
        if answers[-1] == "STATUS_OK:424242":
            break
        time.sleep(0.01)
    assert answers[-1] == "STATUS_OK:424242", answers[-5:]
