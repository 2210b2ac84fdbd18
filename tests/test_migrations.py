import os

from playhouse.migrations import Runner
from playhouse.reflection import Introspector

from smsbulk.cli import MIGRATIONS
from smsbulk.db import open_database
from smsbulk.models import ALL_MODELS


def test_the_migrations_build_the_schema_the_models_describe(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'migrated.db'}")
    database.connect()
    every = sorted(name[:-3] for name in os.listdir(MIGRATIONS) if name[0].isdigit() and name.endswith(".py"))
    assert Runner(database, MIGRATIONS).up() == every
    introspected = Introspector.from_database(database).introspect()
    for model in ALL_MODELS:
        table = model._meta.table_name
        assert table in introspected.columns, table
        assert set(introspected.columns[table]) == {f.column_name for f in model._meta.sorted_fields}, table
    sql = "".join(row[0] for row in database.execute_sql("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
    assert "CHECK (balance >= 0)" in sql and "CHECK (amount <> 0)" in sql
    assert Runner(database, MIGRATIONS).up() == []
    database.close()


def test_keys_made_before_scopes_keep_working_with_every_scope_and_get_a_public_id(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    database.connect()
    Runner(database, MIGRATIONS).up("0002_event_log")
    database.execute_sql(
        "INSERT INTO user (created_at, email, password_hash, role) VALUES ('2026-01-01', 'a@b.c', '', 'user')"
    )
    for n in range(2):
        database.execute_sql(
            "INSERT INTO api_key (created_at, user_id, name, prefix, key_hash, daily_quota, legacy_numbers_status_v1)"
            f" VALUES ('2026-01-01', 1, 'old', 'abcdefgh', 'hash{n}', 10000, 0)"
        )
    Runner(database, MIGRATIONS).up()
    rows = database.execute_sql("SELECT public_id, scopes, allowed_ips, revoked_at FROM api_key").fetchall()
    assert [row[1:] for row in rows] == [("read purchase keys", "", None)] * 2
    assert len({row[0] for row in rows}) == 2 and all(row[0].startswith("key_") for row in rows)
    database.close()
