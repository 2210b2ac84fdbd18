"""The owner's pages through the test client: what each shows, and each form's effect."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import ApiKey, LedgerEntry
from tests import factories

from .helpers import account, log_in, post


@pytest.fixture
def owner(client):
    user = account("owner@example.com")
    with db.connection_context():
        from smsbulk.services import wallets

        wallets.deposit(user, Decimal("5.00"), memo="top-up")
    log_in(client, "owner@example.com")
    return user


def buy_rest(client, key: str, service: str = "wa", country: str = "TR") -> dict:
    answer = client.post(
        "/api/v1/activations", json={"serviceCode": service, "countryIso": country}, headers={"x-api-key": key}
    )
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


def test_every_page_renders_for_a_new_account(client, owner):
    for path in (
        "/dashboard/",
        "/dashboard/ledger",
        "/dashboard/keys",
        "/dashboard/activations",
        "/dashboard/buy",
        "/dashboard/webhooks",
        "/dashboard/docs",
        "/dashboard/account",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store"


def test_a_key_is_created_its_secret_shown_once_and_it_works(client, owner):
    answer = post(
        client,
        "/dashboard/keys",
        {
            "name": "bot 1",
            "daily_quota": "500",
            "max_purchases_per_day": "3",
            "max_spend_per_day": "1.50",
            "scopes": ["read", "purchase"],
        },
    )
    assert answer.status_code == 201
    page = answer.get_data(as_text=True)
    with db.connection_context():
        key = ApiKey.get(ApiKey.name == "bot 1")
    assert (key.daily_quota, key.max_purchases_per_day, key.max_spend_per_day) == (500, 3, Decimal("1.50"))
    assert key.scopes == "read purchase"
    secret = page.split('<code id="secret">')[1].split("</code>")[0]
    assert secret.startswith(key.prefix) and len(secret) == 32
    assert secret not in client.get("/dashboard/keys").get_data(as_text=True)
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": secret}).get_json()["balance"] == "5.00"


def test_a_key_setting_out_of_its_rules_is_refused_with_the_reason(client, owner):
    answer = post(client, "/dashboard/keys", {"name": "x", "max_spend_per_day": "1.234"}, token_from="/dashboard/keys")
    assert answer.status_code == 303
    assert "max_spend_per_day" in client.get("/dashboard/keys").get_data(as_text=True)
    with db.connection_context():
        assert not ApiKey.select().where(ApiKey.name == "x").exists()


def test_the_eleventh_key_is_refused(client, owner):
    for n in range(10):
        factories.make_key(owner, name=f"k{n}")
    answer = post(client, "/dashboard/keys", {"name": "eleventh", "scopes": ["read"]})
    assert answer.status_code == 303
    assert "at most 10 active API keys" in client.get("/dashboard/keys").get_data(as_text=True)


def test_revoke_and_rotate(client, owner):
    key = factories.make_key(owner, name="old")
    rotated = post(client, f"/dashboard/keys/{key.public_id}/rotate", {}, token_from="/dashboard/keys")
    assert rotated.status_code == 200
    fresh = rotated.get_data(as_text=True).split('<code id="secret">')[1].split("</code>")[0]
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": key.secret}).status_code == 401
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": fresh}).status_code == 200
    revoked = post(client, f"/dashboard/keys/{key.public_id}/revoke", {}, token_from="/dashboard/keys")
    assert revoked.status_code == 303
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": fresh}).status_code == 401


def test_another_accounts_key_cannot_be_revoked(client, owner):
    other = factories.make_user()
    with db.connection_context():
        public_id = ApiKey.get_by_id(other.key_id).public_id
    answer = post(client, f"/dashboard/keys/{public_id}/revoke", {}, token_from="/dashboard/keys")
    assert answer.status_code == 303
    assert "No such API key" in client.get("/dashboard/keys").get_data(as_text=True)
    assert client.get("/api/v1/wallet/balance", headers=other.headers).status_code == 200


def test_buy_in_the_dashboard_then_cancel_refunds(client, owner):
    page = client.get("/dashboard/buy?service=wa&country=TR").get_data(as_text=True)
    assert 'name="max_price"' in page and "Turkey" in page
    answer = post(
        client, "/dashboard/buy", {"service": "wa", "country": "TR", "max_price": "5.00"}, token_from="/dashboard/buy"
    )
    assert answer.status_code == 303
    listing = client.get("/dashboard/activations").get_data(as_text=True)
    public_id = listing.split('data-activation="')[1].split('"')[0]
    live = client.get(f"/dashboard/activations/live?ids={public_id}").get_json()
    assert live[0]["id"] == public_id and live[0]["status"] in ("WAITING", "RECEIVED", "PENDING")
    post(client, f"/dashboard/activations/{public_id}/cancel", {}, token_from="/dashboard/activations")
    ledger = client.get("/dashboard/ledger?kind=refund").get_data(as_text=True)
    assert "refund" in ledger
    factories.assert_ledger_exact(factories.Account(owner, "", 0))


def test_a_max_price_below_the_price_is_refused(client, owner):
    post(client, "/dashboard/buy", {"service": "wa", "country": "TR", "max_price": "0.01"}, token_from="/dashboard/buy")
    assert "maximum price" in client.get("/dashboard/buy").get_data(as_text=True)
    with db.connection_context():
        assert LedgerEntry.select().where(LedgerEntry.kind == "purchase").count() == 0


def test_filters_and_pages(client, owner):
    key = factories.make_key(owner)
    for _ in range(3):
        buy_rest(client, key.secret)
    buy_rest(client, key.secret, "tg", "GB")
    assert client.get("/dashboard/activations?service=tg").get_data(as_text=True).count("data-activation=") == 1
    assert client.get("/dashboard/activations?country=tr").get_data(as_text=True).count("data-activation=") == 3
    assert client.get("/dashboard/activations?status=CANCELED").get_data(as_text=True).count("data-activation=") == 0
    assert client.get("/dashboard/activations?status=NOPE").status_code == 400
    assert client.get("/dashboard/activations?country=ZZ").status_code == 404
    assert client.get("/dashboard/ledger?kind=purchase").get_data(as_text=True).count(">purchase</td>") == 4
    assert client.get("/dashboard/ledger?kind=bogus").status_code == 400


def test_ledger_csv_export(client, owner):
    key = factories.make_key(owner)
    buy_rest(client, key.secret)
    answer = client.get("/dashboard/ledger.csv")
    assert answer.mimetype == "text/csv" and "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["kind"] for row in rows] == ["purchase", "deposit"]
    assert rows[0]["activation"].startswith("act_") and Decimal(rows[1]["amount"]) == Decimal("5.00")
    assert sum(Decimal(row["amount"]) for row in rows) == Decimal(rows[0]["balance_after"])
    only = list(csv.DictReader(io.StringIO(client.get("/dashboard/ledger.csv?kind=deposit").get_data(as_text=True))))
    assert [row["kind"] for row in only] == ["deposit"]


def test_webhooks_add_disable_delete(app, client, owner):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    form = {"url": "http://127.0.0.1:9/hook", "types": ["activation.sms_received"]}
    answer = post(client, "/dashboard/webhooks", form)
    assert answer.status_code == 201 and '<code id="secret">whsec_' in answer.get_data(as_text=True)
    page = client.get("/dashboard/webhooks").get_data(as_text=True)
    public_id = page.split("/dashboard/webhooks/")[1].split("/")[0]
    post(client, f"/dashboard/webhooks/{public_id}/disable", {}, token_from="/dashboard/webhooks")
    assert "disabled" in client.get("/dashboard/webhooks").get_data(as_text=True)
    post(client, f"/dashboard/webhooks/{public_id}/delete", {}, token_from="/dashboard/webhooks")
    assert "No webhook yet" in client.get("/dashboard/webhooks").get_data(as_text=True)


def test_the_overview_counts_each_keys_purchases_and_spend_today(client, owner):
    plain = factories.make_key(owner, name="plain")  # no guardrail: no guardrail counter either
    kept = buy_rest(client, plain.secret)
    refunded = buy_rest(client, plain.secret, "tg", "GB")
    client.post(f"/api/v1/activations/{refunded['id']}/cancel", headers={"x-api-key": plain.secret})
    factories.make_key(owner, name="idle")
    page = client.get("/dashboard/").get_data(as_text=True)
    rows = {row.split("</td>")[0].split(">")[-1]: row for row in page.split('<tr><td data-label="Key">')[1:]}
    assert (
        'data-label="Purchases" class="num">2<' in rows["plain"]
        and f'data-label="Spent" class="num">{kept["userCost"]}<' in rows["plain"]
    )
    assert (
        'data-label="Purchases" class="num">0<' in rows["idle"]
        and 'data-label="Spent" class="num">0.00<' in rows["idle"]
    )
