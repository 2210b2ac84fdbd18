"""The operator pages with Flask's test client: each renders for an admin, forms do what they say
(through the services tested in tests/admin), and every admin route refuses everyone else."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.models import LedgerEntry, Provider, WalletAdjustment
from smsbulk.services import wallets

from .helpers import account, log_in, post, token_of

ADMIN = "ops@example.com"


@pytest.fixture
def admin(client):
    account(ADMIN, role="admin")
    log_in(client, ADMIN)
    return client


def admin_routes(app) -> list:
    """Every rule of the operator console, from the app's url_map: a new page cannot be missed."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/dashboard/admin")]


def url_of(rule) -> str:
    return re.sub(r"<(?:int:)?[a-z_]+>", "1", rule.rule)


def test_the_console_has_its_pages(app):
    found = {rule.endpoint for rule in admin_routes(app)}
    assert found == {
        "dashboard.admin_index",
        "dashboard.admin_users",
        "dashboard.admin_user",
        "dashboard.admin_providers",
        "dashboard.admin_prices",
        "dashboard.admin_activations",
        "dashboard.admin_queues",
    }


def test_every_admin_page_renders_for_an_operator(app, admin, make_user):
    owner = make_user()
    bought = admin.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=owner.headers)
    assert bought.status_code in (200, 201, 202)
    for rule in admin_routes(app):
        path = url_of(rule).replace("/1", f"/{owner.user.id}")
        answer = admin.get(path)
        assert answer.status_code == 200, path
        assert 'aria-current="page"' in answer.get_data(as_text=True), path


def test_a_non_admin_gets_403_on_every_admin_route_and_method(app, client):
    account("owner@example.com")
    log_in(client, "owner@example.com")
    token = token_of(client, "/dashboard/")
    for rule in admin_routes(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(
                url_of(rule), method=method, data={"csrf_token": token, "amount": "5", "action": "add"}
            )
            assert answer.status_code == 403, (method, rule.rule)


def test_logged_out_admin_pages_lead_to_the_login(app, client):
    for rule in admin_routes(app):
        answer = client.get(url_of(rule))
        assert answer.status_code == 302 and "/dashboard/login" in answer.headers["Location"], rule.rule


def test_crediting_from_the_page_once_even_when_the_form_is_sent_twice(admin, make_user):
    owner = make_user("1.00")
    page = f"/dashboard/admin/users/{owner.user.id}"
    html = admin.get(page).get_data(as_text=True)
    form = {"token": re.search(r'name="token" value="([^"]+)"', html).group(1), "amount": "4.50", "reason": "refund"}
    first = post(admin, page, form)
    assert first.status_code == 303 and first.headers["Location"].endswith(page)
    shown = admin.get(page).get_data(as_text=True)
    assert "Adjusted by 4.50: the balance is now 5.50." in shown and ">5.50 <" in shown
    post(admin, page, form)
    assert "already submitted" in admin.get(page).get_data(as_text=True)
    with db.connection_context():
        assert wallets.balance_of(owner.user) == Decimal("5.50") and WalletAdjustment.select().count() == 1
        assert LedgerEntry.get(LedgerEntry.kind == "adjustment").memo == "refund"


def test_a_refused_form_comes_back_to_its_page_with_the_reason(admin, make_user):
    owner = make_user("1.00")
    page = f"/dashboard/admin/users/{owner.user.id}"
    html = admin.get(page).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    answer = post(admin, page, {"token": token, "amount": "-2.00", "reason": "chargeback"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(page)
    assert "Not enough money in the wallet" in admin.get(page).get_data(as_text=True)
    answer = post(
        admin, "/dashboard/admin/prices?service=wa&country=TR", {"service": "wa", "country": "TR", "price": "0.01"}
    )
    assert answer.headers["Location"].endswith("/dashboard/admin/prices?service=wa&country=TR")
    assert "below what the cheapest offer" in admin.get("/dashboard/admin/prices").get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(admin, make_user):
    owner = make_user("1.00")
    answer = admin.post(
        f"/dashboard/admin/users/{owner.user.id}", data={"amount": "5", "reason": "x", "token": "t" * 20}
    )
    assert answer.status_code == 400
    with db.connection_context():
        assert wallets.balance_of(owner.user) == Decimal("1.00")


def test_providers_prices_and_filters_from_their_pages(admin):
    post(admin, "/dashboard/admin/providers", {"action": "add", "name": "backup", "kind": "simulator", "priority": "5"})
    page = admin.get("/dashboard/admin/providers").get_data(as_text=True)
    assert "Provider backup added. backup:" in page and "<strong>backup</strong>" in page
    post(admin, "/dashboard/admin/providers", {"action": "disable", "name": "backup"})
    with db.connection_context():
        assert not Provider.get(Provider.name == "backup").enabled
    assert "1000000.00" in admin.get("/dashboard/admin/providers?balance=simulator").get_data(as_text=True)
    post(admin, "/dashboard/admin/prices", {"action": "set", "service": "wa", "country": "TR", "price": "0.45"})
    prices = admin.get("/dashboard/admin/prices?service=wa&country=TR").get_data(as_text=True)
    assert "<strong>0.45</strong>" in prices and "Users now pay 0.45" in prices
    post(admin, "/dashboard/admin/prices", {"action": "remove", "service": "wa", "country": "62"})
    assert "<strong>0.23</strong>" in admin.get("/dashboard/admin/prices?service=wa&country=TR").get_data(as_text=True)
    trail = admin.get("/dashboard/admin/").get_data(as_text=True)
    for action in ("provider added", "provider disabled", "price override set", "price override removed"):
        assert action in trail
    assert admin.get("/dashboard/admin/activations?status=bogus").status_code == 400
    assert admin.get("/dashboard/admin/prices?service=nope").status_code == 404
    assert admin.get("/dashboard/admin/users/999999").status_code == 404
    assert admin.get("/dashboard/admin/users?page=abc").status_code == 200
