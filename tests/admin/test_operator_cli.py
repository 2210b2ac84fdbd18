from smsbulk.extensions import db
from smsbulk.models import User


def role_of(email):
    with db.connection_context():
        return User.get(User.email == email).role


def test_an_operator_account_is_made_with_users_create_admin_or_users_role(runner):
    made = runner.invoke(args=["users", "create", "ops@example.com", "--password", "long-password-1", "--admin"])
    assert made.exit_code == 0 and role_of("ops@example.com") == "admin"
    runner.invoke(args=["users", "create", "owner@example.com"])
    promoted = runner.invoke(args=["users", "role", "owner@example.com", "admin"])
    assert promoted.exit_code == 0 and "now admin" in promoted.output and role_of("owner@example.com") == "admin"
    demoted = runner.invoke(args=["users", "role", "owner@example.com", "user"])
    assert demoted.exit_code == 0 and role_of("owner@example.com") == "user"
    for args in (["users", "role", "nobody@example.com", "admin"], ["users", "role", "ops@example.com", "root"]):
        failed = runner.invoke(args=args)
        assert failed.exit_code != 0 and "Traceback" not in failed.output, args
    assert role_of("ops@example.com") == "admin"
