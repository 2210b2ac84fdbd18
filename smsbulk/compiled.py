"""Hot statements whose SQL Peewee builds once per database backend, not on every call.

Peewee takes longer to build a 20-column SELECT or INSERT, and to work out which column is
which field, than SQLite or PostgreSQL takes to run it; status polls and purchases run a handful
of such statements each. A compiled statement is the same Peewee query, built in full the first
time a process runs it, kept as SQL text, and from then on run with only its parameters.

The contract: `build` returns the query for this very call, and `params` are the values Peewee
would pass for it, in its order, as the database takes them (a MoneyField's value through its
db_value). The first build checks that they are, so a wrong order fails on first use, in tests.
Rows come back as model instances made the way Peewee's own cursor wrapper makes them: every
column through its field's python_value, a joined model's row attached through its foreign key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import peewee

from .extensions import db


@dataclass(frozen=True)
class Compiled:
    sql: str
    model: type[peewee.Model] | None
    columns: list[peewee.Field]  # what the statement selects or returns, in order


_compiled: dict[tuple[type, str], Compiled] = {}


def _run(name: str, build: Callable[[], peewee.Query], params: tuple):
    key = (type(db.obj), name)
    compiled = _compiled.get(key)
    if compiled is None:
        query = build()
        sql, expected = query.sql()
        if list(expected) != list(params):
            raise TypeError(f"{name}: parameters {params!r} are not the query's {expected!r}")
        compiled = Compiled(sql, getattr(query, "model", None), list(query._returning or ()))
        _compiled[key] = compiled
    return db.execute_sql(compiled.sql, params), compiled


def compiled_rows(name: str, build: Callable[[], peewee.Query], *params) -> list:
    """The rows of a SELECT, or of an INSERT/UPDATE ... RETURNING, as model instances."""
    cursor, compiled = _run(name, build, params)
    return [_instance(compiled.model, compiled.columns, row) for row in cursor.fetchall()]


def compiled_tuples(name: str, build: Callable[[], peewee.Query], *params) -> list[tuple]:
    """The rows of a SELECT as the driver gives them: for columns whose values need no
    conversion (integers, text), when there are many rows to read."""
    cursor, _ = _run(name, build, params)
    return cursor.fetchall()


def compiled_rowcount(name: str, build: Callable[[], peewee.Query], *params) -> int:
    """How many rows an UPDATE or DELETE changed."""
    cursor, _ = _run(name, build, params)
    return cursor.rowcount


def compiled_executemany(name: str, build: Callable[[tuple], peewee.Query], rows: list[tuple]) -> None:
    """One statement run once per parameter row, in one driver call: `build(row)` is the query
    for a row (the first one is checked, as above); no rows, no statement."""
    if not rows:
        return
    _, compiled = _run(name, lambda: build(rows[0]), rows[0])  # builds, checks and runs the first row
    if len(rows) == 1:
        return
    cursor = db.cursor()
    if isinstance(db.obj, peewee.PostgresqlDatabase):
        # psycopg2's executemany is one round trip per row; execute_batch sends pages of them.
        from psycopg2.extras import execute_batch

        execute_batch(cursor, compiled.sql, rows[1:], page_size=200)
    else:
        cursor.executemany(compiled.sql, rows[1:])


def padded(ids: list) -> list:
    """A long IN list costs Peewee more to build than the database to run: statements over id
    lists are compiled for lists padded to a power of two (a repeated id changes nothing), so a
    handful of shapes serve every length."""
    return ids + ids[-1:] * (2 ** (len(ids) - 1).bit_length() - len(ids))


def compiled_insert_many(name: str, model: type[peewee.Model], rows: list[dict], per_statement: int = 100) -> None:
    """INSERT ... ON CONFLICT DO NOTHING of many rows, `per_statement` rows a statement; every row
    names the same fields (defaults filled in here). Building a 100-row INSERT costs Peewee
    about 10 ms: the poll cycle inserts a message per activation that got one."""
    for start in range(0, len(rows), per_statement):
        batch = [_with_defaults(model, row) for row in rows[start : start + per_statement]]
        params = [value for row in batch for value in column_params(model, row)]
        compiled_rowcount(
            f"{name}-{len(batch)}", lambda batch=batch: model.insert_many(batch).on_conflict_ignore(), *params
        )


def _with_defaults(model: type[peewee.Model], values: dict) -> dict:
    values = dict(values)
    for field, default in model._meta.defaults.items():
        if field.name not in values:
            values[field.name] = default() if callable(default) else default
    return values


def column_params(model: type[peewee.Model], values: dict) -> list:
    """The parameters Peewee passes for {field name: value} in an INSERT or an UPDATE's SET:
    in the model's field order, each through its field's db_value."""
    return [field.db_value(values[field.name]) for field in model._meta.sorted_fields if field.name in values]


def compiled_insert(name: str, model: type[peewee.Model], values: dict) -> peewee.Model:
    """INSERT one row, {field name: value}, fields left out taking their defaults; the new row
    as an instance, with the primary key the database gave it (INSERT ... RETURNING)."""
    values = _with_defaults(model, values)
    primary_key = model._meta.primary_key
    [row] = compiled_rows(name, lambda: model.insert(values).returning(primary_key), *column_params(model, values))
    instance = model(**values, **{primary_key.name: getattr(row, primary_key.name)})
    instance._dirty.clear()
    return instance


def _instance(model: type[peewee.Model], columns: list[peewee.Field], row: tuple) -> peewee.Model:
    values: dict[type, dict] = {}
    for column, value in zip(columns, row, strict=True):
        values.setdefault(column.model, {})[column.name] = column.python_value(value)
    instance = _loaded(model, values.pop(model, {}))
    for other, data in values.items():  # a joined row: set through the foreign key that points to it
        fk = next(field for field, target in model._meta.refs.items() if target is other)
        instance.__rel__[fk.name] = _loaded(other, data)
    return instance


def _loaded(model: type[peewee.Model], data: dict) -> peewee.Model:
    """An instance holding a row as read: its values go straight into the field storage, so
    nothing is marked changed (what Peewee's own cursor wrapper ends with, for less work)."""
    instance = model(__no_default__=1)
    instance.__data__.update(data)
    return instance
