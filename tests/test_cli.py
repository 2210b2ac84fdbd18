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
