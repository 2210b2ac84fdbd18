"""The migrations build the indexes the models declare, on the backend the suite runs on (a fresh
SQLite file, or a fresh schema of the PostgreSQL test database), and 0009b goes down and up again."""

import os
import uuid

import peewee
import pytest
from playhouse.migrations import Runner

from smsbulk.cli import MIGRATIONS
from smsbulk.db import open_database
from smsbulk.models import ALL_MODELS, Activation, LedgerEntry, Rental, Sms

from .conftest import PG_URL

HISTORY = (Activation, Rental, LedgerEntry, Sms)  # the tables 0009b changes


@pytest.fixture
def database(tmp_path):
    """An empty database of the suite's backend, gone afterwards."""
    if not PG_URL:
        database = open_database(f"sqlite:///{tmp_path / 'migrated.db'}")
        database.connect()
        yield database, None
        database.close()
        return
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    admin = open_database(PG_URL)
    admin.connect()
    admin.execute_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in PG_URL else "?"
    database = open_database(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    database.connect()
    try:
        yield database, schema
    finally:
        database.close_all()
        admin.execute_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def declared(model) -> set[tuple[tuple[str, ...], bool]]:
    """(columns, unique) of every index the model asks for."""
    found = set()
    for index in model._meta.fields_to_index():
        columns = tuple(e.column_name for e in index._expressions if isinstance(e, peewee.Field))
        found.add((columns, bool(index._unique)))
    return found


def built(database, schema, model) -> set[tuple[tuple[str, ...], bool]]:
    """(columns, unique) of every index the database has on the model's table but its primary key."""
    indexes = (
        database.get_indexes(model._meta.table_name, schema) if schema else database.get_indexes(model._meta.table_name)
    )
    key = ((model._meta.primary_key.column_name,), True)
    return {(tuple(i.columns), bool(i.unique)) for i in indexes} - {key}


def test_the_migrations_build_the_indexes_the_models_declare(database):
    database, schema = database
    Runner(database, MIGRATIONS).up()
    for model in ALL_MODELS:
        assert built(database, schema, model) == declared(model), model._meta.table_name


def test_the_history_indexes_go_down_and_up_again(database):
    database, schema = database
    runner = Runner(database, MIGRATIONS)
    runner.up()
    before = {model: built(database, schema, model) for model in HISTORY}
    assert (("user_id", "id"), False) in before[Activation] and (("wallet_id", "id"), False) in before[LedgerEntry]
    assert (("user_id",), False) not in before[Activation] and (("activation_id",), False) not in before[Sms]
    runner.down("0009b_history_indexes")
    assert (("user_id",), False) in built(database, schema, Activation)
    assert (("user_id", "id"), False) not in built(database, schema, Activation)
    runner.up()
    assert {model: built(database, schema, model) for model in HISTORY} == before


def test_the_index_migration_is_numbered_as_given():
    assert "0009b_history_indexes.py" in os.listdir(MIGRATIONS)


def test_the_lean_write_indexes_go_down_and_up_again_and_are_partial(database):
    database, schema = database
    runner = Runner(database, MIGRATIONS)
    runner.up()
    lean = {model: built(database, schema, model) for model in (Activation, LedgerEntry)}
    assert (("api_key_id",), False) not in lean[Activation] and (("activation_id",), False) not in lean[LedgerEntry]
    partial = definitions(database, schema, "activation")["activation_user_id_idempotency_key"]
    assert "where" in partial.lower() and "is not null" in partial.lower()
    runner.down("0012_lean_write_indexes")
    assert (("api_key_id",), False) in built(database, schema, Activation)
    assert "where" not in definitions(database, schema, "activation")["activation_user_id_idempotency_key"].lower()
    runner.up()
    assert {model: built(database, schema, model) for model in (Activation, LedgerEntry)} == lean


def definitions(database, schema, table) -> dict[str, str]:
    indexes = database.get_indexes(table, schema) if schema else database.get_indexes(table)
    return {i.name: i.sql for i in indexes}
