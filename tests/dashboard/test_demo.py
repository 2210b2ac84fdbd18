"""`make run`'s demo account logs in to the dashboard and shows its balance, key and activations."""

from __future__ import annotations

from smsbulk.cli import DEMO_PASSWORD, demo_account

from .helpers import log_in


def test_the_demo_login_shows_balance_key_and_activations(app, client):
    email, key = demo_account()
    bought = client.post(
        "/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers={"x-api-key": key}
    )
    assert bought.status_code == 201
    demo_account()  # a second run: a fresh key, the same login
    assert log_in(client, email, DEMO_PASSWORD).status_code == 303
    overview = client.get("/dashboard/").get_data(as_text=True)
    assert "9.77" in overview and ">demo<" in overview and bought.get_json()["id"] in overview
    assert bought.get_json()["id"] in client.get("/dashboard/activations").get_data(as_text=True)


def test_the_demo_command_prints_the_dashboard_login(runner):
    output = runner.invoke(args=["demo"]).output
    assert f"Dashboard login: demo@smsbulk.local / {DEMO_PASSWORD}" in output
