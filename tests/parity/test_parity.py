"""Each operation through both API styles: the same outcome, the same error, the same ledger effect.

A scenario is a list of steps. It runs once over REST (one account) and once over the legacy
protocol (another account with the same balance), and the two runs must agree on every step's
REST status (the legacy endpoint reports it in X-Status-Code), on the error (the legacy token
is the one the REST error code declares in smsbulk/errors.py), on each activation's final state
and on the ledger rows written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from smsbulk.errors import ERROR_TABLE
from smsbulk.extensions import db
from smsbulk.models import Activation, LedgerEntry, Wallet

TOKEN_OF_REST_CODE = {error.code: error.legacy_token for error in ERROR_TABLE}
ACCESS_FOR = {"cancel": "ACCESS_CANCEL", "finish": "ACCESS_ACTIVATION", "retry": "ACCESS_RETRY_GET"}
STATUS_TOKEN = {  # getStatus for each REST state (SPEC "Legacy API")
    "WAITING": "STATUS_WAIT_CODE",
    "RECEIVED": "STATUS_OK",
    "RETRY": "STATUS_WAIT_RETRY",
    "COMPLETED": "STATUS_OK",
    "CANCELED": "STATUS_CANCEL",
}
TR = {"service": "wa", "country": "62"}


@dataclass
class Run:
    account: object
    foreign_ids: tuple  # (rest id, legacy id) of another user's activation
    ids: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)


class Rest:
    def __init__(self, client) -> None:
        self.client = client

    def step(self, run: Run, name: str, params: dict) -> None:
        headers = run.account.headers
        if name == "buy":
            body = {"serviceCode": params["service"], "countryId": int(params["country"])}
            if "maxPrice" in params:
                body["maxPrice"] = params["maxPrice"]
            response = self.client.post("/api/v1/activations", json=body, headers=headers)
            if response.status_code == 201:
                run.ids.append(response.json["id"])
        elif name == "balance":
            response = self.client.get("/api/v1/wallet/balance", headers=headers)
        else:
            target = run.foreign_ids[0] if params.get("foreign") else run.ids[-1]
            if name == "status":
                response = self.client.get(f"/api/v1/activations/{target}", headers=headers)
            else:
                response = self.client.post(f"/api/v1/activations/{target}/{name}", headers=headers)
        run.outcomes.append((response.status_code, self.meaning(name, response)))

    @staticmethod
    def meaning(name: str, response) -> str:
        body = response.json or {}
        if "error" in body:
            return TOKEN_OF_REST_CODE[body["error"]]
        if name == "balance":
            return body["balance"]
        if name == "buy":
            return "ACCESS_NUMBER"
        if name == "status":
            return STATUS_TOKEN[body["status"]]
        return ACCESS_FOR[name]


class Legacy:
    STATUS_CODE = {"cancel": "8", "finish": "6", "retry": "3"}

    def __init__(self, client) -> None:
        self.client = client

    def step(self, run: Run, name: str, params: dict) -> None:
        query = {"api_key": run.account.key}
        if name == "buy":
            query.update(action="getNumber", **params)
        elif name == "balance":
            query.update(action="getBalance")
        else:
            target = run.foreign_ids[1] if params.get("foreign") else run.ids[-1]
            query.update(action="getStatus", id=target)
            if name != "status":
                query.update(action="setStatus", status=self.STATUS_CODE[name])
        response = self.client.get("/stubs/handler_api.php", query_string=query)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        if body.startswith("ACCESS_NUMBER:"):
            run.ids.append(int(body.split(":")[1]))
        head, _, payload = body.partition(":")
        run.outcomes.append((int(response.headers["X-Status-Code"]), payload if name == "balance" else head))


# scenario -> steps; ("deliver", {}) delivers the simulator's SMS; {"lock": 120} sets the cancel lock.
SCENARIOS = {
    "balance": [("balance", {})],
    "buy": [("buy", TR), ("status", {}), ("balance", {})],
    "buy without the money": [("buy", {"service": "wa", "country": "62"}), ("balance", {})],
    "buy an unknown service": [("buy", {"service": "zzzz", "country": "62"})],
    "buy in an unknown country": [("buy", {"service": "wa", "country": "999"})],
    "buy under the price": [("buy", {**TR, "maxPrice": "0.05"})],
    "buy with no stock": [("buy", {"service": "aoo", "country": "62"})],
    "cancel before a code": [("buy", TR), ("cancel", {}), ("status", {}), ("balance", {})],
    "cancel twice": [("buy", TR), ("cancel", {}), ("cancel", {}), ("balance", {})],
    "cancel inside the lock": [("lock", {}), ("buy", TR), ("cancel", {}), ("status", {})],
    "cancel after a code": [("buy", TR), ("deliver", {}), ("cancel", {}), ("status", {}), ("balance", {})],
    "finish after a code": [("buy", TR), ("deliver", {}), ("finish", {}), ("finish", {}), ("status", {})],
    "finish before a code": [("buy", TR), ("finish", {}), ("status", {})],
    "retry after a code": [("buy", TR), ("deliver", {}), ("retry", {}), ("status", {}), ("finish", {})],
    "retry before a code": [("buy", TR), ("retry", {}), ("status", {})],
    "another user's activation": [
        ("status", {"foreign": True}),
        ("cancel", {"foreign": True}),
        ("finish", {"foreign": True}),
        ("retry", {"foreign": True}),
    ],
}
POOR = {"buy without the money"}


def ledger(account) -> list[tuple[str, str]]:
    with db.connection_context():
        rows = LedgerEntry.select().join(Wallet).where(Wallet.user == account.user).order_by(LedgerEntry.id)
        return [(row.kind, f"{row.amount:f}") for row in rows]


def final_states(run: Run) -> list[str]:
    with db.connection_context():
        found = [
            Activation.get(Activation.public_id == i) if isinstance(i, str) else Activation.get_by_id(i)
            for i in run.ids
        ]
        return [activation.status for activation in found]


def play(app, style, run: Run, steps) -> None:
    from workers.tasks import poll_statuses

    app.config["CANCEL_LOCK_SECONDS"] = 0
    for name, params in steps:
        if name == "deliver":
            poll_statuses()
        elif name == "lock":
            app.config["CANCEL_LOCK_SECONDS"] = 120
        else:
            style.step(run, name, params)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_styles_agree_on_outcome_error_and_ledger(app, client, make_user, scenario):
    stranger = make_user("10.00")
    foreign = Rest(client)
    owner_run = Run(stranger, ("", 0))
    foreign.step(owner_run, "buy", TR)
    with db.connection_context():
        foreign_ids = (owner_run.ids[0], Activation.get(Activation.public_id == owner_run.ids[0]).id)

    balance = "0.10" if scenario in POOR else "10.00"
    runs = {}
    for style in (Rest(client), Legacy(client)):
        run = Run(make_user(balance), foreign_ids)
        play(app, style, run, SCENARIOS[scenario])
        runs[type(style).__name__] = run
    rest, legacy = runs["Rest"], runs["Legacy"]
    assert legacy.outcomes == rest.outcomes
    assert final_states(legacy) == final_states(rest)
    assert ledger(legacy.account) == ledger(rest.account)
    assert [kind for kind, _ in ledger(stranger)] == ["deposit", "purchase"]  # the stranger's was left alone
    with db.connection_context():
        assert Activation.get_by_id(foreign_ids[1]).status in ("WAITING", "RECEIVED")  # only SMS may have come


def test_the_quota_counts_both_styles_and_both_refuse_over_it(client, make_user):
    account = make_user("10.00", quota=2)
    assert client.get("/api/v1/wallet/balance", headers=account.headers).status_code == 200
    legacy = client.get("/stubs/handler_api.php", query_string={"api_key": account.key, "action": "getBalance"})
    assert legacy.data.startswith(b"ACCESS_BALANCE")
    rest = client.get("/api/v1/wallet/balance", headers=account.headers)
    legacy = client.get("/stubs/handler_api.php", query_string={"api_key": account.key, "action": "getBalance"})
    assert rest.status_code == 429 and rest.json["error"] == "rate_limit_exceeded"
    assert legacy.data == b"RATE_LIMITED" and legacy.headers["X-Status-Code"] == "429"
    assert TOKEN_OF_REST_CODE[rest.json["error"]] == legacy.get_data(as_text=True)


def test_a_bad_key_is_refused_alike(client):
    rest = client.get("/api/v1/wallet/balance", headers={"x-api-key": "n" * 32})
    legacy = client.get("/stubs/handler_api.php", query_string={"api_key": "n" * 32, "action": "getBalance"})
    assert (rest.status_code, TOKEN_OF_REST_CODE[rest.json["error"]]) == (401, "BAD_KEY")
    assert (int(legacy.headers["X-Status-Code"]), legacy.get_data(as_text=True)) == (401, "BAD_KEY")


def test_prices_agree(client, make_user):
    account = make_user()
    rest = client.get("/api/v1/catalog/prices?serviceCode=wa&countryId=62", headers=account.headers).json
    legacy = client.get(
        "/stubs/handler_api.php",
        query_string={"api_key": account.key, "action": "getPrices", "service": "wa", "country": "62"},
    ).get_data(as_text=True)
    (offer,) = rest
    assert (
        legacy
        == f'{{"62":{{"wa":{{"cost":{offer["price"]},"count":{offer["stock"]},"physicalCount":{offer["stock"]}}}}}}}'
    )
