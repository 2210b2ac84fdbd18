"""The account rules: login throttling, one answer for unknown email and wrong password, the
sign-up switch, the trial credit, and a password change ending the other sessions."""

from __future__ import annotations

from decimal import Decimal

import redis as redis_lib

from smsbulk.extensions import db
from smsbulk.models import LedgerEntry, User, Wallet
from smsbulk.services import wallets

from .helpers import PASSWORD, account, log_in, post


def _error_of(answer) -> str:
    return answer.get_data(as_text=True).split('role="alert">')[1].split("<")[0]


def test_unknown_email_and_wrong_password_get_the_same_answer(client):
    account("known@example.com")
    unknown = log_in(client, "nobody@example.com", PASSWORD)
    wrong = log_in(client, "known@example.com", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert _error_of(unknown) == _error_of(wrong) == "Wrong email or password"
    assert client.get("/dashboard/").status_code == 302


def test_an_account_locks_after_the_configured_failures_even_for_the_right_password(app, client):
    app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_SECONDS=60)
    account("target@example.com")
    for _ in range(3):
        assert log_in(client, "Target@example.com", "guess").status_code == 401
    locked = log_in(client, "target@example.com", PASSWORD)
    assert locked.status_code == 429 and _error_of(locked) == "Too many failed logins: try again in 1 min"
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    assert client.get("/dashboard/").status_code == 302
    # Another account from the same address is not locked by them.
    account("other@example.com")
    assert log_in(client, "other@example.com").status_code == 303


def test_the_lock_ends_with_its_window(app, client, redis_url):
    app.config.update(LOGIN_MAX_FAILURES=2, LOGIN_LOCK_SECONDS=60)
    account("target@example.com")
    for _ in range(2):
        log_in(client, "target@example.com", "guess")
    assert log_in(client, "target@example.com").status_code == 429
    server = redis_lib.Redis.from_url(redis_url)
    counters = server.keys("login:failures:account:*")
    assert len(counters) == 1 and 0 < server.ttl(counters[0]) <= 60
    server.delete(*counters)  # as if the window had passed
    assert log_in(client, "target@example.com").status_code == 303


def test_an_address_locks_after_failures_across_accounts(app, client):
    app.config.update(LOGIN_MAX_FAILURES=100, LOGIN_MAX_FAILURES_PER_IP=4)
    account("real@example.com")
    for n in range(4):
        assert log_in(client, f"guess{n}@example.com", "guess").status_code == 401
    assert log_in(client, "real@example.com").status_code == 429
    other_address = client.post  # a client from elsewhere is not locked
    token_page = client.get("/dashboard/login", environ_base={"REMOTE_ADDR": "198.51.100.7"}).get_data(as_text=True)
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = other_address(
        "/dashboard/login",
        data={"email": "real@example.com", "password": PASSWORD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert answer.status_code == 303


def test_a_success_clears_the_account_failures(app, client):
    app.config.update(LOGIN_MAX_FAILURES=3)
    account("me@example.com")
    for _ in range(2):
        log_in(client, "me@example.com", "typo")
    assert log_in(client, "me@example.com").status_code == 303
    post(client, "/dashboard/logout", {}, token_from="/dashboard/")
    for _ in range(2):
        log_in(client, "me@example.com", "typo")
    assert log_in(client, "me@example.com").status_code == 303


def test_sign_up_can_be_switched_off(app, client):
    app.config["SIGNUP_ENABLED"] = False
    assert "Sign-up is closed" in client.get("/dashboard/signup").get_data(as_text=True)
    assert "Sign up" not in client.get("/dashboard/login").get_data(as_text=True).split("<main")[1]
    answer = post(client, "/dashboard/signup", {"email": "late@example.com", "password": PASSWORD}, "/dashboard/login")
    assert answer.status_code == 403
    with db.connection_context():
        assert not User.select().where(User.email == "late@example.com").exists()


def test_new_accounts_start_at_zero_without_a_ledger_entry(client):
    post(client, "/dashboard/signup", {"email": "zero@example.com", "password": PASSWORD})
    with db.connection_context():
        user = User.get(User.email == "zero@example.com")
        assert wallets.balance_of(user) == Decimal("0.00")
        assert LedgerEntry.select().join(Wallet).where(Wallet.user == user).count() == 0


def test_the_trial_credit_is_a_ledger_deposit(app, client):
    app.config["TRIAL_CREDIT"] = "1.50"
    post(client, "/dashboard/signup", {"email": "trial@example.com", "password": PASSWORD})
    assert "1.50" in client.get("/dashboard/").get_data(as_text=True)
    with db.connection_context():
        user = User.get(User.email == "trial@example.com")
        entries = list(LedgerEntry.select().join(Wallet).where(Wallet.user == user))
        assert [(e.kind, e.amount, e.memo) for e in entries] == [("deposit", Decimal("1.50"), "trial credit")]
        assert wallets.balance_of(user) == wallets.ledger_sum(user) == Decimal("1.50")


def test_changing_the_password_ends_the_other_sessions(app, client):
    account("me@example.com")
    other = app.test_client()
    other.__class__ = client.__class__
    log_in(client, "me@example.com")
    log_in(other, "me@example.com")
    assert other.get("/dashboard/").status_code == 200
    answer = post(client, "/dashboard/account", {"current_password": PASSWORD, "new_password": "a brand new password"})
    assert answer.status_code == 303
    assert client.get("/dashboard/").status_code == 200  # this session goes on
    assert other.get("/dashboard/").status_code == 302  # the other one is logged out
    assert log_in(other, "me@example.com", PASSWORD).status_code == 401
    assert log_in(other, "me@example.com", "a brand new password").status_code == 303


def test_a_wrong_current_password_changes_nothing(client):
    account("me@example.com")
    log_in(client, "me@example.com")
    post(client, "/dashboard/account", {"current_password": "wrong", "new_password": "a brand new password"})
    assert "the current password is wrong" in client.get("/dashboard/account").get_data(as_text=True)
    with db.connection_context():
        assert User.get(User.email == "me@example.com").session_version == 0
