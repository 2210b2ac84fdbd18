"""Checks shared by `make bench` and `make loadtest`: plain HTTP, the ledger, pending purchases, memory."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from . import stack


def http(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def legacy_missing(base: str, key: str) -> bool:
    status, _ = http(f"{base}/stubs/handler_api.php?api_key={key}&action=getBalance")
    return status == 404


def wait_for_purchases(timeout: float = 60.0) -> int:
    """Until no activation is PENDING (every purchase job has run); returns how many still are."""
    from smsbulk.extensions import db
    from smsbulk.models import Activation

    deadline = time.monotonic() + timeout
    while True:
        with db.connection_context():
            pending = Activation.select().where(Activation.status == "PENDING").count()
        if pending == 0 or time.monotonic() > deadline:
            return pending
        time.sleep(0.5)


def check_ledger() -> tuple[int, list[str]]:
    """balance == sum of the ledger, and >= 0, for every account; returns (accounts, problems)."""
    from smsbulk.extensions import db
    from smsbulk.models import User
    from smsbulk.services import wallets

    problems = []
    with db.connection_context():
        users = list(User.select())
        for user in users:
            balance, total = wallets.balance_of(user), wallets.ledger_sum(user)
            if balance != total or balance < 0:
                problems.append(f"{user.email}: balance {balance} ledger {total}")
    return len(users), problems


def web_rss_mb(running: stack.Stack) -> list[float]:
    import psutil

    web = running.processes.get("web")
    if web is None:
        return []
    return [child.memory_info().rss / 2**20 for child in psutil.Process(web.pid).children()]
