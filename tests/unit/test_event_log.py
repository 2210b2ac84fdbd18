from smsbulk.db import is_sqlite
from smsbulk.extensions import db
from smsbulk.models import Event
from smsbulk.services import events


def test_an_accounts_events_are_read_after_a_cursor_oldest_first_and_only_its_own(conn, make_user):
    alice, bob = make_user(), make_user()
    opened = [e.id for e in events.after(alice.user.id)]  # the opening deposit, the key's creation
    with events.recording(alice.user.id) as recording:
        recording.add(alice.user.id, "ledger.entry", {"amount": "1.00"})
        recording.add(alice.user.id, "key.created", {"name": "ci"})
    first, second = (e.id for e in recording.events)
    with events.recording(bob.user.id) as recording:
        recording.add(bob.user.id, "ledger.entry", {"amount": "2.00"})

    assert [e.id for e in events.after(alice.user.id)] == [*opened, first, second]
    assert first > max(opened)
    assert [e.id for e in events.after(alice.user.id, first)] == [second]
    assert events.after(alice.user.id, second) == []
    assert [e.type for e in events.after(alice.user.id, max(opened), types=["key.created"])] == ["key.created"]
    assert events.payload_of(events.after(alice.user.id, max(opened))[0]) == {"amount": "1.00"}


def test_the_cursor_read_is_an_index_range_scan(conn, make_user):
    query = Event.select().where((Event.user == 1) & (Event.id > 5)).order_by(Event.id).limit(100)
    sql, params = query.sql()
    if is_sqlite():
        plan = " ".join(str(row) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        assert "USING INDEX event_user_id_id" in plan or "USING COVERING INDEX event_user_id_id" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        db.execute_sql("SET enable_seqscan = off")  # an empty table would be scanned otherwise
        plan = " ".join(row[0] for row in db.execute_sql("EXPLAIN " + sql, params).fetchall())
        db.execute_sql("SET enable_seqscan = on")
        assert "event_user_id_id" in plan and "Sort" not in plan, plan
