"""The connection pool: a connection broken while it sat in the pool is never handed out twice.

The pool probes a connection before handing it out only if it was given back more than
ALIVE_BYPASS_SECONDS ago (smsbulk/db.py). The tests break a pooled connection behind the pool's
back, as a database restart or an administrator would, on whichever database the suite runs.
"""

from __future__ import annotations

import sqlite3
import time

import peewee
import psycopg2
import pytest

from smsbulk.db import ALIVE_BYPASS_SECONDS, is_sqlite
from smsbulk.extensions import db


def pooled_connection():
    """The driver connection a checkout gets, given back to the pool at once."""
    with db.connection_context():
        return db.connection()


def break_behind_the_pools_back(conn) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.close()
        return
    killer = psycopg2.connect(dbname=db.obj.database, **db.obj.connect_params)  # outside the pool
    killer.autocommit = True
    killer.cursor().execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    killer.close()
    time.sleep(0.2)  # the server has closed that backend


def answer() -> int:
    with db.connection_context():
        return db.execute_sql("SELECT 7").fetchone()[0]


def test_a_connection_broken_while_idle_is_replaced_at_checkout(app):
    broken = pooled_connection()
    break_behind_the_pools_back(broken)
    time.sleep(ALIVE_BYPASS_SECONDS + 0.1)  # given back long enough ago to be probed
    assert answer() == 7
    assert pooled_connection() is not broken


def test_one_given_back_a_moment_ago_is_not_probed_and_fails_once_if_broken(app):
    """The bet: nothing breaks a connection within the window but a server going away, which
    takes longer. If something does, one query fails and its connection leaves the pool. (SQLite
    knows a closed connection without a round trip: it is replaced at once.)"""
    broken = pooled_connection()
    break_behind_the_pools_back(broken)
    db.obj.returned_at[db.obj.conn_key(broken)] = time.monotonic()  # as if given back just now
    if not is_sqlite():
        with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
            answer()
    assert answer() == 7
    assert pooled_connection() is not broken
