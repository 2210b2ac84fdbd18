from decimal import Decimal

from smsbulk.extensions import db
from smsbulk.models import ApiKey, User
from smsbulk.services import wallets


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_users_create_prints_a_working_key_alone_on_its_last_line(runner, client):
    result = runner.invoke(args=["users", "create", "ops@example.com", "--balance", "12.50", "--password", "pw"])
    assert result.exit_code == 0, result.output
    key = last_line(result.output)
    assert len(key) == 32 and key.isalnum()
    answer = client.get("/api/v1/wallet/balance", headers={"x-api-key": key})
    assert answer.json == {"balance": "12.50", "currency": "USD"}


def test_wallet_credit_and_keys_create(runner, client):
    runner.invoke(args=["users", "create", "ops@example.com"])
    credited = runner.invoke(args=["wallet", "credit", "ops@example.com", "3.25"])
    assert credited.exit_code == 0 and "3.25" in credited.output
    made = runner.invoke(args=["keys", "create", "ops@example.com", "--name", "bot", "--quota", "7"])
    key = last_line(made.output)
    status = client.get("/api/v1/keys/current", headers={"x-api-key": key}).json
    assert status["name"] == "bot" and status["dailyQuota"] == 7
    with db.connection_context():
        user = User.get(User.email == "ops@example.com")
        assert wallets.balance_of(user) == Decimal("3.25") == wallets.ledger_sum(user)


def test_bad_cli_input_is_a_clear_error_not_a_traceback(runner):
    assert runner.invoke(args=["wallet", "credit", "nobody@example.com", "1"]).exit_code != 0
    runner.invoke(args=["users", "create", "ops@example.com"])
    for amount in ("abc", "-5", "0.001", "0.1e400"):
        result = runner.invoke(args=["wallet", "credit", "ops@example.com", amount])
        assert result.exit_code != 0 and "Traceback" not in result.output, amount


def test_a_user_has_at_most_ten_active_keys(runner):
    runner.invoke(args=["users", "create", "ops@example.com"])
    results = [runner.invoke(args=["keys", "create", "ops@example.com"]) for _ in range(10)]
    assert [r.exit_code for r in results] == [0] * 9 + [1]
    with db.connection_context():
        assert ApiKey.select().where(ApiKey.revoked_at.is_null()).count() == 10


def test_the_demo_command_prints_the_key_on_a_line_with_api_key(runner, client):
    result = runner.invoke(args=["demo"])
    line = next(line for line in result.output.splitlines() if "API key" in line)
    key = line.split()[-1]
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": key}).json["balance"] == "10.00"


def test_a_key_can_be_made_for_the_older_numbers_status_form(runner):
    runner.invoke(args=["users", "create", "ops@example.com"])
    made = runner.invoke(args=["keys", "create", "ops@example.com", "--numbers-status-v1"])
    assert made.exit_code == 0
    with db.connection_context():
        assert ApiKey.get(ApiKey.prefix == last_line(made.output)[:8]).legacy_numbers_status_v1 is True


def key_of(runner, email: str) -> dict:
    """The fields of the first line `keys list` prints for the user."""
    line = runner.invoke(args=["keys", "list", email]).output.splitlines()[0]
    return dict(part.split("=", 1) for part in line.split("  ")[1:]) | {"id": line.split()[0]}


def test_users_create_makes_a_key_with_every_scope_and_keys_create_read_and_purchase(runner):
    runner.invoke(args=["users", "create", "ops@example.com"])
    assert key_of(runner, "ops@example.com")["scopes"] == "read,purchase,keys"
    runner.invoke(args=["keys", "create", "ops@example.com", "--name", "bot"])
    assert key_of(runner, "ops@example.com")["scopes"] == "read,purchase"
    narrow = runner.invoke(args=["keys", "create", "ops@example.com", "--scopes", "read", "--allow-ip", "10.0.0.0/8"])
    assert narrow.exit_code == 0 and "scopes=read " in narrow.output and "allowed_ips=10.0.0.0/8" in narrow.output
    bad = runner.invoke(args=["keys", "create", "ops@example.com", "--scopes", "root"])
    assert bad.exit_code == 1 and "scopes" in bad.output and "Traceback" not in bad.output


def test_an_operator_lists_sets_rotates_and_revokes_a_key(runner, client):
    made = runner.invoke(args=["users", "create", "ops@example.com", "--balance", "5"])
    secret = last_line(made.output)
    key = key_of(runner, "ops@example.com")
    assert key["state"] == "active" and key["quota"] == "10000" and key["max_purchases"] == "-"
    changed = runner.invoke(
        args=["keys", "set", key["id"], "--quota", "9", "--max-purchases", "2", "--max-spend", "1.50"]
        + ["--scopes", "read,purchase", "--allow-ip", "127.0.0.1", "--allow-ip", "10.0.0.0/8"]
    )
    assert changed.exit_code == 0, changed.output
    key = key_of(runner, "ops@example.com")
    assert (key["quota"], key["max_purchases"], key["max_spend"], key["scopes"]) == ("9", "2", "1.50", "read,purchase")
    assert key["allowed_ips"] == "127.0.0.1/32,10.0.0.0/8"
    answer = client.get("/api/v1/keys/current", headers={"x-api-key": secret})
    assert answer.status_code == 200 and answer.json["maxPurchasesPerDay"] == 2
    runner.invoke(args=["keys", "set", key["id"], "--max-purchases", "none", "--any-ip"])
    key = key_of(runner, "ops@example.com")
    assert key["max_purchases"] == "-" and key["allowed_ips"] == "any" and key["used_today"] == "1"
    rotated = runner.invoke(args=["keys", "rotate", key["id"]])
    new_secret = last_line(rotated.output)
    assert rotated.exit_code == 0 and len(new_secret) == 32 and new_secret != secret
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": secret}).status_code == 401
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": new_secret}).status_code == 200
    revoked = runner.invoke(args=["keys", "revoke", key["id"]])
    assert revoked.exit_code == 0 and "state=revoked" in revoked.output
    assert client.get("/api/v1/wallet/balance", headers={"x-api-key": new_secret}).status_code == 401
    assert key_of(runner, "ops@example.com")["revoked"] != "-"
    for args in (["keys", "revoke", "key_nope"], ["keys", "set", key["id"], "--quota", "-1"]):
        failed = runner.invoke(args=args)
        assert failed.exit_code != 0 and "Traceback" not in failed.output, args


def test_users_list_shows_each_user_with_balance_and_active_keys(runner):
    runner.invoke(args=["users", "create", "a@example.com", "--balance", "2.50"])
    runner.invoke(args=["users", "create", "b@example.com", "--admin"])
    runner.invoke(args=["keys", "create", "b@example.com"])
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert lines[0].startswith("a@example.com  role=user  balance=2.50  active_keys=1  created=")
    assert lines[1].startswith("b@example.com  role=admin  balance=0.00  active_keys=2  created=")
