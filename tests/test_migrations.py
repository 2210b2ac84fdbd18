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
