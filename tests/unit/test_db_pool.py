"""The connection pool: a connection broken while it sat in the pool is not handed out again.

A database restart or an administrator ends connections the pool holds. The pool probes each
connection before handing it out (smsbulk/db.py), so the next request gets a working one. The
test breaks a pooled connection behind the pool's back, on whichever database the suite runs.
"""

from __future__ import annotations

import sqlite3
import time

import psycopg2

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


def test_a_connection_broken_while_idle_is_replaced_at_checkout(app):
    broken = pooled_connection()
    break_behind_the_pools_back(broken)
    with db.connection_context():
        assert db.execute_sql("SELECT 7").fetchone()[0] == 7
        assert db.connection() is not broken
