"""A pooled connection given back a moment ago is handed out again without the pool's check (on
PostgreSQL a SELECT 1 round trip: smsbulk/pg_pool.py); one idle for longer is checked, so a
connection the server ended is replaced, not handed out."""

import time

import peewee
import pytest

from smsbulk import pg_pool
from smsbulk.db import is_sqlite, open_database

from ..conftest import open_other_connection


def backend_of(database) -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def ended_by_the_server(database_url: str, pid: int) -> None:
    other = open_other_connection(database_url)
    other.connect()
    other.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
    while other.execute_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
        time.sleep(0.01)
    other.close_all()


def test_a_connection_given_back_a_moment_ago_is_not_checked_and_an_idle_one_is(database_url, monkeypatch):
    database = open_database(database_url)
    database.connect()
    if is_sqlite():  # SQLite's pool check is local: nothing to skip, the pool is peewee's own
        first = database.connection()
        database.close()
        database.connect()
        assert database.connection() is first and not isinstance(database, pg_pool.RecentlyChecked)
        database.close_all()
        return
    monkeypatch.setattr(pg_pool, "CHECKED_SECONDS", 60.0)  # given back "a moment ago", however slow the kill
    ended = backend_of(database)
    database.close()
    ended_by_the_server(database_url, ended)
    database.connect()  # unchecked: the pool hands out the connection the server has just ended
    with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
        backend_of(database)
    database.close_all()

    monkeypatch.setattr(pg_pool, "CHECKED_SECONDS", 0.0)  # every connection idle long enough to check
    database = open_database(database_url)
    database.connect()
    ended = backend_of(database)
    database.close()
    ended_by_the_server(database_url, ended)
    database.connect()  # checked: the dead one is dropped and a new one opened
    assert backend_of(database) not in (ended, None)
    database.close_all()
