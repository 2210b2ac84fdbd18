"""Database wiring: connect per request/job, explicit transactions, row locks where they exist."""

from __future__ import annotations

from flask import Flask
from playhouse.db_url import connect

from .extensions import db


def open_database(url: str):
    if url.startswith("sqlite"):
        # WAL lets readers run beside the one writer; the busy timeout makes Gunicorn
        # workers, RQ jobs and cron wait for the write lock instead of failing.
        return connect(
            url,
            autoconnect=False,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal"},
            timeout=10,
        )
    return connect(url, autoconnect=False)


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
    from peewee import SqliteDatabase

    return isinstance(db.obj, SqliteDatabase)


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
