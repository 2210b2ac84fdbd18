"""A delivery gives up on a slow endpoint: 5 s to connect, 5 s for each read, then a failure
that is retried like any other.

The tests wait 5 s each, the timeouts of the issue and of docs/webhooks.md, rather than a
shortened value: what is asserted is the timeout the workers really use.
"""

from __future__ import annotations

import socket

import pytest

from .conftest import BUY, register, retries


@pytest.fixture
def unanswered():
    """A port whose listen queue is full: the kernel drops further SYNs, so a connect hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(listener.getsockname())
        except BlockingIOError:
            pass
        held.append(filler)
    yield listener.getsockname()[1]
    for sock in (*held, listener):
        sock.close()


def test_an_endpoint_that_does_not_answer_within_5_s_fails_the_attempt_and_is_retried(client, make_user, receiver):
    account = make_user()
    hook = register(client, account, receiver.url, eventTypes=["activation.created"])
    receiver.delay = 7
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    [attempt] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert not attempt["succeeded"] and attempt["statusCode"] is None, attempt
    assert attempt["error"].startswith("timeout") and 4900 <= attempt["latencyMs"] < 6500, attempt
    receiver.delay = 0
    assert retries() == 1
    latest = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json[0]
    assert latest["succeeded"] and latest["attempt"] == 2 and latest["webhookId"] == attempt["webhookId"]


def test_an_endpoint_that_does_not_accept_the_connection_within_5_s_fails_the_attempt(
    client, make_user, receiver, unanswered
):
    account = make_user()
    url = f"http://127.0.0.1:{unanswered}/hooks"
    hook = register(client, account, url, eventTypes=["activation.created"])
    client.post("/api/v1/activations", json=BUY, headers=account.headers)
    [attempt] = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=account.headers).json
    assert not attempt["succeeded"] and attempt["statusCode"] is None and attempt["messageState"] == "pending"
    assert attempt["error"].startswith("timeout") and 4900 <= attempt["latencyMs"] < 6500, attempt
