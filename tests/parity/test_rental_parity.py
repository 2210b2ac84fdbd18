"""The same rental through REST and through the legacy rent actions: the same outcome, error and
ledger effect, step by step (as test_parity.py does for activations)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from smsbulk.errors import ERROR_TABLE
from smsbulk.extensions import db
from smsbulk.models import Rental
from tests.parity.test_parity import ledger

TOKEN_OF_REST_CODE = {error.code: error.legacy_token for error in ERROR_TABLE}
GB = {"service": "wa", "country": "16", "hours": "4"}
# A rental's state as both styles can tell it: the legacy getRentStatus token, or "SMS" when it
# shows messages.
STATE = {"WAITING": "STATUS_WAIT_CODE", "FINISHED": "STATUS_FINISH", "CANCELED": "STATUS_CANCEL"}
LEGACY_STEP = {
    "extend": "continueRentNumber",
    "status": "getRentStatus",
    "balance": "getBalance",
    "rent": "getRentNumber",
}


@dataclass
class Run:
    account: object
    foreign: tuple  # (rest id, legacy id) of another user's rental
    ids: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)


class Rest:
    def __init__(self, client) -> None:
        self.client = client

    def step(self, run: Run, name: str, params: dict) -> None:
        headers = run.account.headers
        target = run.foreign[0] if params.get("foreign") else (run.ids[-1] if run.ids else "")
        if name == "rent":
            body = {
                "serviceCode": params["service"],
                "countryId": int(params["country"]),
                "hours": int(params["hours"]),
            }
            response = self.client.post("/api/v1/rentals", json=body, headers=headers)
            if response.status_code == 201:
                run.ids.append(response.json["id"])
        elif name == "balance":
            response = self.client.get("/api/v1/wallet/balance", headers=headers)
        elif name == "status":
            response = self.client.get(f"/api/v1/rentals/{target}", headers=headers)
        elif name == "extend":
            response = self.client.post(
                f"/api/v1/rentals/{target}/extend", json={"hours": int(params["hours"])}, headers=headers
            )
        else:
            response = self.client.post(f"/api/v1/rentals/{target}/{name}", headers=headers)
        run.outcomes.append((response.status_code, self.meaning(name, response.json or {})))

    @staticmethod
    def meaning(name: str, body: dict) -> str:
        if "error" in body:
            return TOKEN_OF_REST_CODE[body["error"]]
        if name == "balance":
            return body["balance"]
        if name == "status":
            return "SMS" if body["active"] and body["sms"] else STATE[body["status"]]
        return "success"


class Legacy:
    def __init__(self, client) -> None:
        self.client = client

    def step(self, run: Run, name: str, params: dict) -> None:
        query = {"api_key": run.account.key}
        target = run.foreign[1] if params.get("foreign") else (run.ids[-1] if run.ids else "")
        if name == "rent":
            query.update(
                action="getRentNumber", service=params["service"], country=params["country"], time=params["hours"]
            )
        elif name in ("finish", "cancel"):
            query.update(action="setRentStatus", id=target, status="1" if name == "finish" else "2")
        else:
            query.update(action=LEGACY_STEP[name], id=target, rent_time=params.get("hours", ""))
        response = self.client.get("/stubs/handler_api.php", query_string=query)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        run.outcomes.append((int(response.headers["X-Status-Code"]), self.meaning(name, body, run)))

    @staticmethod
    def meaning(name: str, body: str, run: Run) -> str:
        if name == "balance":
            return body.partition(":")[2]
        answer = json.loads(body)
        if answer["status"] == "error":
            return answer["message"]
        if name == "rent":
            run.ids.append(answer["phone"]["id"])
        return "SMS" if name == "status" else "success"


SCENARIOS = {
    "rent": [("rent", GB), ("status", {}), ("balance", {})],
    "rent, read the sms, extend, finish": [
        ("rent", GB),
        ("deliver", {}),
        ("status", {}),
        ("extend", {"hours": "4"}),
        ("finish", {}),
        ("finish", {}),
        ("status", {}),
        ("balance", {}),
    ],
    "cancel within the window": [("rent", GB), ("cancel", {}), ("cancel", {}), ("status", {}), ("balance", {})],
    "cancel after an sms": [("rent", GB), ("deliver", {}), ("cancel", {}), ("balance", {})],
    "extend past the longest rental": [("rent", GB), ("extend", {"hours": "1341"}), ("balance", {})],
    "rent without the money": [("rent", GB), ("balance", {})],
    "rent where nothing is rented": [("rent", {**GB, "country": "62"})],
    "rent an unknown service": [("rent", {**GB, "service": "zzzz"})],
    "another user's rental": [
        ("status", {"foreign": True}),
        ("cancel", {"foreign": True}),
        ("finish", {"foreign": True}),
    ],
}
POOR = {"rent without the money"}


def final_states(run: Run) -> list[str]:
    with db.connection_context():
        return [
            (Rental.get(Rental.public_id == i) if isinstance(i, str) else Rental.get_by_id(i)).status for i in run.ids
        ]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_rental_through_both_styles_has_the_same_outcomes_and_money(app, client, make_user, scenario):
    from workers.tasks import poll_statuses

    stranger = make_user("10.00")
    owner = Run(stranger, ("", 0))
    Rest(client).step(owner, "rent", GB)
    with db.connection_context():
        foreign = (owner.ids[0], Rental.get(Rental.public_id == owner.ids[0]).id)
    runs = {}
    for style in (Rest(client), Legacy(client)):
        run = Run(make_user("0.50" if scenario in POOR else "10.00"), foreign)
        for name, params in SCENARIOS[scenario]:
            poll_statuses() if name == "deliver" else style.step(run, name, params)
        runs[type(style).__name__] = run
    rest, legacy = runs["Rest"], runs["Legacy"]
    assert legacy.outcomes == rest.outcomes
    assert final_states(legacy) == final_states(rest)
    assert ledger(legacy.account) == ledger(rest.account)
    assert [kind for kind, _ in ledger(stranger)] == ["deposit", "purchase"]  # the stranger's was left alone
