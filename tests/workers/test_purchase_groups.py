"""A batch job records the numbers it bought in groups (smsbulk/services/purchase_groups.py): one
transaction for several purchases. Each is still bought once and announced; a group that cannot
be recorded together is recorded one by one, as the purchase job would; a group lost to an error
is settled by the recovery pass, not bought again."""

from __future__ import annotations

import datetime
from decimal import Decimal

import peewee

from smsbulk.extensions import db
from smsbulk.models import Activation, Event, LedgerEntry
from smsbulk.models.base import utcnow
from smsbulk.providers.base import Purchase
from smsbulk.services import fulfilment, purchase_groups, purchase_job, recovery, routing
from tests.factories import assert_ledger_exact
from tests.workers.test_purchase_batches import bought_upstream, place, slots_held, statuses, work


def groups_recorded(monkeypatch) -> list[int]:
    """The sizes of the groups record_group is given, as it is called."""
    sizes: list[int] = []
    record_group = purchase_groups.record_group

    def counted(group):
        sizes.append(len(group))
        return record_group(group)

    monkeypatch.setattr(purchase_groups, "record_group", counted)
    return sizes


def number_events(ids: list[int]) -> int:
    with db.connection_context():
        return Event.select().where(Event.activation.in_(ids) & (Event.type == "activation.number_assigned")).count()


def test_purchases_waiting_together_are_recorded_in_groups_each_once_and_announced(app, make_user, monkeypatch):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    monkeypatch.setattr(purchase_groups, "GROUP_SECONDS", 60.0)  # closed by size or an empty list only
    monkeypatch.setattr(purchase_groups, "GROUP_MAX", 4)
    sizes = groups_recorded(monkeypatch)
    ids = place(app, account, 6)
    work()
    assert sizes == [4, 2]
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 6 and number_events(ids) == 6
    with db.connection_context():
        numbers = [row.phone_number for row in Activation.select().where(Activation.id.in_(ids))]
    assert all(numbers) and len(set(numbers)) == 6
    assert all(purchase_job.wait(i, 1).phone_number for i in ids)  # every buyer hears its number
    assert slots_held() == [] and purchase_job.waiting() == 0
    assert_ledger_exact(account)


def test_after_a_slow_purchase_the_next_is_recorded_alone_at_once(app, make_user, monkeypatch):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    monkeypatch.setattr(purchase_groups, "GROUP_SECONDS", 0.0)  # every purchase is slower than this
    sizes = groups_recorded(monkeypatch)
    ids = place(app, account, 4)
    work()
    assert sizes == [1]  # the first was left to record (none was slow yet); the rest were recorded by fulfil
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 4 and number_events(ids) == 4
    assert_ledger_exact(account)


def started_orders(ids: list[int]) -> list[fulfilment.Bought]:
    """Each order's attempt started at the simulator, as fulfil starts it before its call."""
    found = []
    for activation_id in ids:
        order = fulfilment._open_order(activation_id)
        offer = routing.candidates(order.service_id, order.country_id, order.operator, max_cost=order.user_cost)[0]
        reference = fulfilment.start_attempt(order, offer.provider)
        found.append(fulfilment.Bought(order, offer.provider, None, reference, []))
    return found


def test_a_group_with_a_number_another_activation_holds_is_recorded_one_by_one(app, make_user):
    account = make_user("20.00")
    held, first, second = place(app, account, 3)  # inline jobs: all three bought
    with app.app_context(), db.connection_context():
        taken = Activation.get_by_id(held).provider_ref
        Activation.update(status="PENDING", provider=None, provider_ref=None, phone_number=None).where(
            Activation.id.in_([first, second])
        ).execute()
        fresh, repeated = started_orders([first, second])
        fresh.purchase = Purchase(ref="fresh-ref", phone="+90 555 000 0001", cost=Decimal("0.05"))
        repeated.purchase = Purchase(ref=taken, phone="+90 555 000 0002", cost=Decimal("0.05"))
        outcomes = purchase_groups.record_group([fresh, repeated])
        assert [o.status for o in outcomes] == ["WAITING", "FAILED"]  # no other offer: failed, refunded
        assert outcomes[0].phone_number == "905550000001"
        refunds = LedgerEntry.select().where((LedgerEntry.activation == second) & (LedgerEntry.kind == "refund"))
        assert refunds.count() == 1
    assert statuses([first]) == {"WAITING"} and statuses([second]) == {"FAILED"}
    assert_ledger_exact(account)


def test_a_group_that_cannot_be_recorded_is_settled_by_recovery_not_bought_again(app, make_user, monkeypatch):
    account = make_user("20.00")
    app.config.update(RQ_ASYNC=True, PURCHASE_BATCH_JOBS=1)
    monkeypatch.setattr(purchase_groups, "GROUP_SECONDS", 60.0)

    def database_gone(group):
        raise peewee.OperationalError("the database went away")

    monkeypatch.setattr(purchase_groups, "record_group", database_gone)
    ids = place(app, account, 3)
    work()
    assert statuses(ids) == {"PENDING"} and bought_upstream() == 3
    assert slots_held() == [] and purchase_job.waiting() == 0
    monkeypatch.undo()
    later = utcnow() + datetime.timedelta(seconds=app.config["ATTEMPT_TIMEOUT_SECONDS"] + 1)
    with app.app_context(), db.connection_context():
        assert recovery.recover(now=later)["adopted"] == 3
    assert statuses(ids) == {"WAITING"} and bought_upstream() == 3 and number_events(ids) == 3
    assert_ledger_exact(account)
