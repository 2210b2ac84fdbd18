"""What follows a commit that appended events: write the snapshots, wake the waiters, and queue
the webhook dispatch.

Registered once with events.on_commit(), the seam where "these events were just committed" is
known, so no writer of the log has to remember any of it. All take one Redis round trip per
commit, together: the activations' snapshots first (services/snapshots.py: a woken waiter reads
the new one), a PUBLISH per account for the waiters (services/waits.py) and, in the same
pipeline, which of these accounts have an enabled webhook endpoint (a Redis set kept by
services/webhooks.py), so a commit of an account without endpoints reads no database.
If Redis cannot be reached the commit stands (the listener's failure is logged): the snapshots
are cleared with the process's next commit, waiters see the event when their time is up, and
the webhook sweep sends it within a minute.
"""

from __future__ import annotations

import redis

from ..extensions import get_redis
from ..queues import enqueue_webhook_dispatch
from . import events, snapshots, waits, webhooks


def summarize(committed: list[events.Appended], touched: dict[int, int]) -> dict[int, tuple[int, set[str]]]:
    """Per account: its newest event id (0: none), and the subjects (`a<activation>`, `r<rental>`)
    its events were about or that changed without one."""
    accounts: dict[int, tuple[int, set[str]]] = {user_id: (0, set()) for user_id in set(touched.values())}
    for activation_id, user_id in touched.items():
        accounts[user_id][1].add(f"a{activation_id}")
    for event in committed:
        newest, subjects = accounts.get(event.user_id, (0, set()))
        for prefix, subject in (("a", event.activation_id), ("r", getattr(event, "rental_id", None))):
            if subject is not None:
                subjects.add(f"{prefix}{subject}")
        accounts[event.user_id] = (max(newest, event.id or 0), subjects)
    return accounts


@events.on_commit
def after_commit(committed: list[events.Appended], touched: dict[int, int]) -> None:
    accounts = summarize(committed, touched)
    users = [user_id for user_id, (newest, _) in accounts.items() if newest]  # those with new events
    connection = get_redis()
    try:
        with connection.pipeline(transaction=False) as pipe:
            written = snapshots.queue_writes(pipe, committed, touched)
            for user_id, (newest, subjects) in accounts.items():
                pipe.publish(waits.CHANNEL, waits.message_of(user_id, newest, subjects))
            if users:
                pipe.smismember(webhooks.ACCOUNTS_KEY, users)
            results = pipe.execute(raise_on_error=False)
    except redis.RedisError:
        snapshots.lost(committed, touched)
        raise
    snapshots.settle(connection, written, results[: len(written)])
    if not users:
        return
    has_endpoint = results[-1]
    if isinstance(has_endpoint, Exception):
        raise has_endpoint
    for user_id, flag in zip(users, has_endpoint, strict=True):
        if flag:
            enqueue_webhook_dispatch(user_id, accounts[user_id][0])
