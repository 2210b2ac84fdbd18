"""A hypothesis fuzz of the legacy endpoint: any method, any parameters, any bytes in them.

Every answer is HTTP 200 with a protocol token or a JSON object, never ERROR_SQL (that means a
real database failure), never a 500 (the catch-all handler is off in tests: an unexpected
exception fails here with its traceback); an attacker's calls move no money, touch no one
else's activation, and every ledger stays exact. Marked `fuzz`: .ci/run runs it on both
databases; a fixed seed (derandomize) makes each run the same.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsbulk.extensions import db
from smsbulk.legacy.dispatch import ACTIONS
from smsbulk.models import Activation
from tests.factories import assert_every_ledger_exact, balance
from tests.legacy.test_fuzz import NAMES, PATH, VALUES, assert_protocol_answer

pytestmark = pytest.mark.fuzz

EXAMPLES = 3000

actions = st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=40))
names = st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=12))
values = st.one_of(st.sampled_from(VALUES), st.text(max_size=60), st.integers().map(str), st.decimals().map(str))
requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        "action": actions,
        "pairs": st.lists(st.tuples(names, values), max_size=6),
        "in_body": st.booleans(),
    }
)


def test_hostile_requests_answer_tokens_and_move_no_money(client, make_user, legacy):
    victim, attacker = make_user("10.00"), make_user("10.00")
    victim_id = legacy.text(victim.key, "getNumber", service="wa", country="62").split(":")[1]
    victim_balance = balance(victim)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(asked=requests, victim_in=st.booleans())
    def send(asked, victim_in):
        pairs = [("api_key", attacker.key), ("action", asked["action"]), *asked["pairs"]]
        if victim_in:
            pairs.append(("id", victim_id))
        if asked["in_body"] and asked["method"] != "GET":
            form = {"data": urlencode(pairs), "content_type": "application/x-www-form-urlencoded"}
            answer = client.open(PATH, method=asked["method"], **form)
        else:
            answer = client.open(f"{PATH}?{urlencode(pairs)}", method=asked["method"])
        assert_protocol_answer(answer, pairs)
        assert answer.data != b"ERROR_SQL", pairs

    send()
    assert balance(victim) == victim_balance
    assert_every_ledger_exact()
    with db.connection_context():
        assert Activation.get_by_id(int(victim_id)).status == "WAITING"
