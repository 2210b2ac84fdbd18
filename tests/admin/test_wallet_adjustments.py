from decimal import Decimal

import pytest

from smsbulk.errors import BadRequest, Forbidden, IdempotencyKeyReused, NoBalance, NotFound
from smsbulk.extensions import db
from smsbulk.models import Event, LedgerEntry, User, WalletAdjustment
from smsbulk.services import accounts, admin_users, audit, events
from tests.factories import assert_ledger_exact, balance, race


def entries(account, kind="adjustment"):
    with db.connection_context():
        return list(
            LedgerEntry.select()
            .join_from(LedgerEntry, LedgerEntry.wallet.rel_model)
            .where((LedgerEntry.wallet.rel_model.user == account.user.id) & (LedgerEntry.kind == kind))
        )


def audit_events(operator):
    with db.connection_context():
        return [
            events.payload_of(e)
            for e in Event.select().where(Event.user == operator.user_id, Event.type.startswith("admin."))
        ]


def test_a_credit_is_an_adjustment_entry_with_its_reason_an_event_for_the_owner_and_an_audit_event(
    app, operator, make_user
):
    account = make_user("1.00")
    with db.connection_context():
        done = admin_users.adjust(
            operator, account.user.id, "12.50", "  goodwill   for outage ", admin_users.new_token()
        )
    assert done.balance == Decimal("13.50") and not done.replayed
    assert balance(account) == Decimal("13.50")
    (entry,) = entries(account)
    assert entry.amount == Decimal("12.50") and entry.memo == "goodwill for outage"
    assert_ledger_exact(account)
    with db.connection_context():
        owner_sees = [events.payload_of(e) for e in Event.select().where(Event.user == account.user.id)]
    assert owner_sees[-1]["kind"] == "adjustment" and owner_sees[-1]["amount"] == "12.50"
    (record,) = audit_events(operator)
    assert record["actor"] == operator.email and record["action"] == "wallet_adjusted"
    assert record["target"] == f"user {account.user.email}" and record["amount"] == "12.50"
    assert record["balance_after"] == "13.50" and record["reason"] == "goodwill for outage"


def test_a_debit_takes_money_but_never_below_zero_and_a_refused_one_writes_nothing(app, operator, make_user):
    account = make_user("5.00")
    token = admin_users.new_token()
    with db.connection_context():
        with pytest.raises(NoBalance):
            admin_users.adjust(operator, account.user.id, "-5.01", "chargeback", token)
        assert not WalletAdjustment.select().exists()
        done = admin_users.adjust(operator, account.user.id, "-5.00", "chargeback", token)  # the token is still free
    assert done.balance == Decimal("0.00") and balance(account) == Decimal("0.00")
    assert [e.amount for e in entries(account)] == [Decimal("-5.00")]
    assert len(audit_events(operator)) == 1
    assert_ledger_exact(account)


def test_the_same_form_submitted_twice_credits_once(app, operator, make_user):
    account = make_user("0.00")
    token = admin_users.new_token()
    with db.connection_context():
        first = admin_users.adjust(operator, account.user.id, "3.00", "bonus", token)
        again = admin_users.adjust(operator, account.user.id, "3.00", "bonus", token)
        with pytest.raises(IdempotencyKeyReused):
            admin_users.adjust(operator, account.user.id, "4.00", "bonus", token)
    assert again.replayed and again.entry.id == first.entry.id and again.balance == Decimal("3.00")
    assert balance(account) == Decimal("3.00") and len(entries(account)) == 1 and len(audit_events(operator)) == 1


def test_a_double_submit_at_the_same_moment_credits_once(app, operator, make_user):
    account = make_user("0.00")
    token = admin_users.new_token()
    results = race(*[lambda: admin_users.adjust(operator, account.user.id, "2.00", "bonus", token)] * 4)
    assert all(not isinstance(result, Exception) for result in results), results
    assert sum(not result.replayed for result in results) == 1
    assert balance(account) == Decimal("2.00") and len(entries(account)) == 1
    assert_ledger_exact(account)


@pytest.mark.parametrize(
    "amount, field",
    [
        ("0", "amount"),
        ("0.00", "amount"),
        ("1.234", "amount"),
        ("abc", "amount"),
        ("1e3", "amount"),
        ("100000.01", "amount"),
        ("-100000.01", "amount"),
        ("", "amount"),
        ("NaN", "amount"),
        ("1,50", "amount"),
    ],
)
def test_an_amount_that_is_not_whole_cents_or_out_of_range_is_refused(app, operator, make_user, amount, field):
    account = make_user()
    with db.connection_context(), pytest.raises(BadRequest) as refused:
        admin_users.adjust(operator, account.user.id, amount, "reason", admin_users.new_token())
    assert refused.value.details["field"] == field
    assert balance(account) == Decimal("10.00")


@pytest.mark.parametrize(
    "reason, token, field",
    [
        ("", None, "reason"),
        ("x" * 201, None, "reason"),
        ("ok", "", "token"),
        ("ok", "short", "token"),
        ("ok", "bad token with spaces!!", "token"),
    ],
)
def test_a_reason_and_the_forms_token_are_required(app, operator, make_user, reason, token, field):
    account = make_user()
    with db.connection_context(), pytest.raises(BadRequest) as refused:
        admin_users.adjust(
            operator, account.user.id, "1.00", reason, admin_users.new_token() if token is None else token
        )
    assert refused.value.details["field"] == field


def test_an_unknown_account_is_not_found(app, operator):
    with db.connection_context():
        for user_id in ("999999", "abc", "", "1" * 40):
            with pytest.raises(NotFound):
                admin_users.adjust(operator, user_id, "1.00", "reason", admin_users.new_token())


def test_only_an_admin_account_is_an_operator(app, make_user):
    account = make_user()
    with db.connection_context(), pytest.raises(Forbidden):
        audit.Operator.of(User.get_by_id(account.user.id))


def test_search_by_email_fragment_or_id_and_open_an_account(app, operator, make_user):
    first, second = make_user("1.00"), make_user("2.00")
    with db.connection_context():
        found = admin_users.search(first.user.email.split("@")[0])
        assert [row.email for row in found.rows] == [first.user.email]
        assert found.rows[0].balance == Decimal("1.00") and found.rows[0].active_keys == 1
        assert [row.email for row in admin_users.search(str(second.user.id)).rows] == [second.user.email]
        assert admin_users.search("nobody-like-this").total == 0
        assert admin_users.search("").total == 3  # the operator too
        admin_users.adjust(operator, second.user.id, "1.00", "bonus", admin_users.new_token())
        opened = admin_users.account(second.user.id)
    assert opened.balance == opened.ledger_total == Decimal("3.00")
    assert [entry.kind for entry in opened.entries] == ["adjustment", "deposit"] and len(opened.keys) == 1


def test_the_audit_trail_lists_what_every_operator_did_newest_first(app, operator, make_user):
    account = make_user()
    with db.connection_context():
        admin_users.adjust(operator, account.user.id, "1.00", "first", admin_users.new_token())
        admin_users.adjust(operator, account.user.id, "-1.00", "second", admin_users.new_token())
        trail = audit.recent()
    assert [action.details["reason"] for action in trail] == ["second", "first"]
    assert all(action.action == "wallet_adjusted" and action.actor == operator.email for action in trail)
    assert trail[0].target == f"user {account.user.email}" and trail[0].details["amount"] == "-1.00"


def test_the_trail_merges_every_operators_actions_newest_first_and_keeps_to_its_limit(app, operator, make_user):
    with db.connection_context():
        other = audit.Operator.of(accounts.create_user("second-ops@example.com", "", role="admin"))
    account = make_user()
    with db.connection_context():
        for n, who in enumerate([operator, other, operator, other, operator]):
            admin_users.adjust(who, account.user.id, "1.00", f"step {n}", admin_users.new_token())
        trail = audit.recent(limit=4)
        everything = audit.recent()
    assert [action.details["reason"] for action in trail] == ["step 4", "step 3", "step 2", "step 1"]
    assert [action.actor for action in trail] == [operator.email, other.email, operator.email, other.email]
    assert len(everything) == 5
