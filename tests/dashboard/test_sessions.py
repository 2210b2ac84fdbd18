"""Sign up, log in and out, sessions and their cookies, CSRF on the dashboard only."""

from __future__ import annotations

from smsbulk.extensions import db
from smsbulk.models import User

from .helpers import PASSWORD, account, log_in, post, token_of


def test_root_and_short_paths_lead_to_the_dashboard(client):
    assert client.get("/").headers["Location"].endswith("/dashboard/")
    assert client.get("/login").headers["Location"].endswith("/dashboard/login")
    assert client.get("/signup").headers["Location"].endswith("/dashboard/signup")
    answer = client.get("/dashboard/")
    assert answer.status_code == 302 and "/dashboard/login?next=" in answer.headers["Location"]


def test_sign_up_logs_in_and_the_password_is_hashed_with_argon2(client):
    answer = post(client, "/dashboard/signup", {"email": "New@Example.com", "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/dashboard/")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "new@example.com" in page and "0.00" in page
    with db.connection_context():
        stored = User.get(User.email == "new@example.com").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_short_password_is_refused_with_its_rule(client):
    answer = post(client, "/dashboard/signup", {"email": "a@example.com", "password": "short"})
    assert answer.status_code == 303
    assert "a password is 10 to 1024 characters" in client.get("/dashboard/signup").get_data(as_text=True)
    with db.connection_context():
        assert not User.select().where(User.email == "a@example.com").exists()


def test_log_in_renews_the_session_and_sets_safe_cookies(client):
    account()
    token_of(client)  # a session exists before the login (its CSRF token)
    before = client.get_cookie("session").value
    answer = log_in(client, "owner@example.com")
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get_cookie("session").value != before
    assert client.get("/dashboard/").status_code == 200


def test_secure_cookies_when_configured(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    account()
    answer = log_in(client, "owner@example.com")
    assert "Secure" in answer.headers["Set-Cookie"]


def test_log_out_ends_the_session(client):
    account()
    log_in(client, "owner@example.com")
    assert post(client, "/dashboard/logout", {}, token_from="/dashboard/").status_code == 303
    assert client.get("/dashboard/").status_code == 302


def test_a_form_without_its_token_is_refused_and_nothing_changes(client):
    answer = client.post("/dashboard/signup", data={"email": "x@example.com", "password": PASSWORD})
    assert answer.status_code == 400 and "The CSRF token is missing" in answer.get_data(as_text=True)
    answer = client.post(
        "/dashboard/signup", data={"email": "x@example.com", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert answer.status_code == 400
    with db.connection_context():
        assert not User.select().where(User.email == "x@example.com").exists()


def test_the_apis_take_no_csrf_token(client, make_user):
    owner = make_user("1.00")
    answer = client.post("/api/v1/keys", json={"name": "no token"}, headers=owner.headers)
    assert answer.status_code == 201
    assert client.get(f"/stubs/handler_api.php?api_key={owner.key}&action=getBalance").data == b"ACCESS_BALANCE:1.00"
