"""Database wiring: connect per request/job, explicit transactions, row locks where they exist."""

from __future__ import annotations

from collections.abc import Callable

import peewee
from flask import Flask
from playhouse.db_url import parse, schemes

from .extensions import db

# Pool settings; a parameter in the URL's query string wins (e.g. ?max_connections=64).
POOL_OPTIONS = {
    # Connections move between Gunicorn threads (one thread at a time): not bound to their creator.
    "sqlite": {"check_same_thread": False, "max_connections": 64, "stale_timeout": 300, "timeout": 10},
    "postgresql": {"max_connections": 32, "stale_timeout": 300, "timeout": 10},
}
# WAL lets readers run beside the one writer; the busy timeout makes Gunicorn workers, RQ jobs
# and cron wait for the write lock instead of failing.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal", "busy_timeout": 10_000}


def open_database(url: str):
    """The database of a URL, always behind Peewee's connection pool.

    Opening a connection costs more than a status read - on SQLite the file, its PRAGMAs and a
    WAL checkpoint when the last connection closes; on PostgreSQL a TCP connection and a backend -
    so `sqlite://` and `postgresql://` URLs are served by their `+pool` classes: a request or job
    takes an open connection from its process's pool and gives it back (`timeout` is how long it
    waits when all are in use).
    """
    scheme = url.split("://", 1)[0].removesuffix("+pool")
    database_class = schemes.get(f"{scheme}+pool")
    if database_class is None:
        raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:// or postgresql://")
    family = "sqlite" if scheme.startswith("sqlite") else "postgresql"
    options = {**POOL_OPTIONS[family], **parse(url)}
    if family == "sqlite":
        options["pragmas"] = SQLITE_PRAGMAS
    return database_class(autoconnect=False, **options)


def init_db(app: Flask) -> None:
    db.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _connect() -> None:
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()


def is_sqlite() -> bool:
    return isinstance(db.obj, peewee.SqliteDatabase)


def write_transaction():
    """A transaction that owns the write lock from its start.

    SQLite has no row locks: BEGIN IMMEDIATE serialises writers up front, so a
    read-then-write inside cannot be overtaken. PostgreSQL uses row locks via `locked()`.
    """
    if is_sqlite():
        return db.atomic("IMMEDIATE")
    return db.atomic()


def locked(query, skip_locked: bool = False):
    """SELECT ... FOR UPDATE where the backend has it (inside write_transaction())."""
    if is_sqlite():
        return query
    return query.for_update(skip_locked=skip_locked) if skip_locked else query.for_update()


# (backend class, name) -> (SQL text, the model, the selected columns): see compiled_select().
_compiled: dict[tuple[type, str], tuple[str, type[peewee.Model], list[peewee.Field]]] = {}


def compiled_select(name: str, build: Callable[[], peewee.ModelSelect], *params) -> list:
    """The rows of a hot SELECT as model instances; its SQL is built once per database backend.

    Peewee takes longer to build a 20-column SELECT, and to work out which column is which
    field, than SQLite or PostgreSQL takes to run it, and status polls and purchases run such
    SELECTs all the time. `build` makes the query with a placeholder wherever a parameter goes
    (constants as SQL("..."), so that they are not parameters) and `params` are this call's
    values in the same order, as the database takes them (a MoneyField's value through its
    db_value). Rows become instances the way Peewee's own cursor wrapper makes them: every column
    through its field's python_value, a joined model's row attached through the foreign key.
    """
    key = (type(db.obj), name)
    cached = _compiled.get(key)
    if cached is None:
        query = build()
        sql, placeholders = query.sql()
        if len(placeholders) != len(params):
            raise TypeError(f"{name}: the query takes {len(placeholders)} parameters, {len(params)} given")
        cached = _compiled[key] = (sql, query.model, list(query._returning))
    sql, model, columns = cached
    return [_instance(model, columns, row) for row in db.execute_sql(sql, params).fetchall()]


def _instance(model: type[peewee.Model], columns: list[peewee.Field], row: tuple) -> peewee.Model:
    values: dict[type, dict] = {}
    for column, value in zip(columns, row, strict=True):
        values.setdefault(column.model, {})[column.name] = column.python_value(value)
    instance = _loaded(model, values.pop(model))
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
