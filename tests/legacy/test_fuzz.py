"""Malformed and hostile input: always HTTP 200 with a protocol answer, never a 500, never money moved.

The app's catch-all handler is off in tests, so any unexpected exception fails here with its
traceback instead of hiding behind an ERROR_SQL.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from urllib.parse import urlencode

from smsbulk.extensions import db
from smsbulk.legacy.dispatch import ACTIONS
from smsbulk.models import Activation, Service
from tests.factories import assert_ledger_exact, balance

PATH = "/stubs/handler_api.php"
TOKEN = re.compile(r"[A-Z_]+(:[0-9.]*)?")
NAMES = [
    "id", "status", "service", "country", "operator", "maxPrice", "activationId", "start", "end", "limit",
    "offset", "size", "orderId", "forward", "activationType", "phoneException", "freePrice", "verification",
    "action", "api_key", "multiService", "lang", " id ", "ID", "status ",
    "rent_time", "time", "duration", "hours", "page", "length", "needHistory", "time ",
]  # fmt: skip
VALUES = [
    "", " ", "None", "null", "NULL", "False", "true", "0", "-1", "1", "2", "3", "6", "8", "-0", "+1", "01",
    "99999999999999999999", "9" * 5000, str(2**31), str(2**31 - 1), "9" * 11, "abz!", "1e9", "1.5", "0x10",
    "²", "٣", "\x00", "1\x002", "😀", "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd",
    "wa,tg", ",", "%", "\n", "\r\nX-Injected: 1", "[]", "{}", "Ж" * 300,
]  # fmt: skip


def assert_protocol_answer(response, context) -> None:
    assert response.status_code == 200, context
    body = response.get_data(as_text=True)
    assert response.headers["X-Status-Code"].isdigit(), context
    if response.headers["Content-Type"] == "application/json":
        assert isinstance(json.loads(body), dict), context
    else:
        assert TOKEN.fullmatch(body), (context, body[:200])


def test_no_value_of_the_hostile_pool_names_a_real_service(app):
    with db.connection_context():
        codes = [v.strip().lower() for v in VALUES if "\x00" not in v]  # NUL values count as absent
        assert not Service.select().where(Service.code.in_(codes)).exists()


def test_random_hostile_requests_answer_protocol_tokens_and_move_no_money(client, make_user, legacy):
    victim, attacker = make_user("10.00"), make_user("10.00")
    victim_id = legacy.text(victim.key, "getNumber", service="wa", country="62").split(":")[1]
    victim_balance = balance(victim)
    rng = random.Random(20240601)
    actions = [*ACTIONS, "", "GETBALANCE", "getbalance", "x" * 3000, "getNumber\x00", "setStatus "]
    for n in range(200):
        pairs = [("api_key", attacker.key), ("action", rng.choice(actions))]
        for _ in range(rng.randrange(6)):
            pairs.append((rng.choice(NAMES), rng.choice([*VALUES, victim_id])))
        rng.shuffle(pairs)
        if rng.random() < 0.3:
            response = client.post(PATH, data=dict(pairs))
        else:
            response = client.get(f"{PATH}?{urlencode(pairs)}")
        assert_protocol_answer(response, (n, pairs))
    assert balance(attacker) == Decimal("10.00") and balance(victim) == victim_balance
    assert_ledger_exact(attacker)
    assert_ledger_exact(victim)
    with db.connection_context():
        assert Activation.get_by_id(int(victim_id)).status == "WAITING"
        assert Activation.select().count() == 1


def test_every_action_with_every_parameter_missing_or_garbage(client, make_user):
    account = make_user("10.00")
    for action in ACTIONS:
        for value in ("None", "-1", "9" * 40):
            params = {name: value for name in NAMES if name not in ("action", "api_key")}
            response = client.get(PATH, query_string={"api_key": account.key, "action": action, **params})
            assert_protocol_answer(response, (action, value))
        assert_protocol_answer(client.get(PATH, query_string={"api_key": account.key, "action": action}), action)
    assert balance(account) == Decimal("10.00")


def test_doubled_parameters_take_the_last_and_stay_harmless(client, make_user):
    account = make_user("3.00")
    query = f"api_key={account.key}&action=getStatus&action=getBalance&id=1&id=x"
    assert client.get(f"{PATH}?{query}").data == b"ACCESS_BALANCE:3.00"
    query = f"api_key=wrong&api_key={account.key}&action=getBalance"
    assert client.get(f"{PATH}?{query}").data == b"ACCESS_BALANCE:3.00"


def test_oversized_and_undecodable_requests_still_get_a_token(app, client, make_user):
    account = make_user("3.00")
    roomy = client.post(PATH, data={"api_key": account.key, "action": "getBalance", "x": "y" * 60_000})
    assert roomy.data == b"ACCESS_BALANCE:3.00"
    too_large = {
        "body": client.post(PATH, data={"api_key": account.key, "action": "getBalance", "x": "y" * 70_000}),
        "query": client.get(f"{PATH}?api_key={account.key}&action=getBalance&pad={'z' * 200_000}"),
        "header": client.get(PATH, query_string={"action": "getBalance"}, headers={"x-api-key": "k" * 100_000}),
    }
    statuses = {name: (r.status_code, r.data, r.headers["X-Status-Code"]) for name, r in too_large.items()}
    assert statuses == {
        "body": (200, b"BAD_DATA", "413"),
        "query": (200, b"BAD_DATA", "414"),
        "header": (200, b"BAD_DATA", "431"),
    }
    app.config["MAX_CONTENT_LENGTH"] = 1000  # an operator's limit: the body is refused, with a token
    huge_body = client.post(PATH, data={"api_key": account.key, "action": "getBalance", "x": "y" * 2000})
    assert huge_body.status_code == 200 and huge_body.data == b"BAD_DATA"
    raw = client.get(f"{PATH}?api_key={account.key}&action=getStatus&id=%FF%FE%00")
    assert raw.data == b"WRONG_ACTIVATION_ID"
    json_body = client.post(PATH, json={"api_key": account.key, "action": "getBalance"})
    assert json_body.status_code == 200 and json_body.data == b"BAD_KEY"  # JSON bodies are not a protocol input
    assert balance(account) == Decimal("3.00")
