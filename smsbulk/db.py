"""Database wiring: a pooled connection per request/job, explicit transactions, row locks where they exist."""

from __future__ import annotations

import os
import sqlite3

import peewee
from flask import Flask, has_request_context
from playhouse.db_url import parse, schemes

from .extensions import db, private_files
from .pg_pool import RecentlyChecked
from .sqlite_writers import QueuedWriters, writer_turn

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

    A request takes its connection at its first query, not when it starts (RequestConnected):
    most status reads and long-poll waits are answered from Redis and take none. Outside a
    request, a query without a connection opened for it fails (jobs and commands open theirs).
    """
    scheme = url.split("://", 1)[0].removesuffix("+pool")
    database_class = schemes.get(f"{scheme}+pool")
    if database_class is None:
        raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite:// or postgresql://")
    family = "sqlite" if scheme.startswith("sqlite") else "postgresql"
    if family == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: 3.35 or newer is needed (RETURNING)")
    options = {**POOL_OPTIONS[family], **parse(url)}
    bases: tuple[type, ...] = (RequestConnected, database_class)
    attributes = {}
    if family == "sqlite":
        options["pragmas"] = SQLITE_PRAGMAS
        _create_private(options["database"])
        if _is_file(options["database"]):
            bases = (RequestConnected, QueuedWriters, database_class)
            attributes["writer_turn"] = writer_turn(options["database"])
    else:
        bases = (RequestConnected, RecentlyChecked, database_class)
    return type(database_class.__name__, bases, attributes)(autoconnect=False, **options)


def _is_file(path: str) -> bool:
    return bool(path) and path != ":memory:" and not path.startswith("file:")


class RequestConnected:
    """A database whose request connects at its first query (teardown_request gives it back)."""

    def cursor(self, *args, **kwargs):
        if self.is_closed() and has_request_context():
            self.connect()
        return super().cursor(*args, **kwargs)


def _create_private(path: str) -> None:
    """A new SQLite file is made readable by its owner only; SQLite gives its -wal and -shm files
    the same mode."""
    if _is_file(path) and not os.path.exists(path):
        with private_files():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def init_db(app: Flask) -> None:
    db.initialize(open_database(app.config["DATABASE_URL"]))

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
