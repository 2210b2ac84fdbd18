"""The connection pool: a connection broken while it sat in the pool is not handed out again, and
the connections a burst left idle are closed by the web process (smsbulk/serving.py ReleasesIdle).

A database restart or an administrator ends connections the pool holds. The pool probes a
connection idle for more than a moment before handing it out (smsbulk/db.py, smsbulk/pg_pool.py),
so the next request gets a working one. The test breaks a pooled connection behind the pool's
back, on whichever database the suite runs.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg2

from smsbulk import pg_pool
from smsbulk.extensions import db
from smsbulk.serving import release_idle
from tests.factories import race


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
    time.sleep(max(0.2, 2 * pg_pool.CHECKED_SECONDS))  # the server has closed it, and it sat idle long enough


def test_a_connection_broken_while_idle_is_replaced_at_checkout(app):
    broken = pooled_connection()
    break_behind_the_pools_back(broken)
    with db.connection_context():
        assert db.execute_sql("SELECT 7").fetchone()[0] == 7
        assert db.connection() is not broken


def is_closed(conn) -> bool:
    if isinstance(conn, sqlite3.Connection):
        try:
            conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(conn.closed)


def checked_out_together(count: int) -> list:
    """`count` connections held at once by as many threads (a burst), then given back to the pool."""
    holding = threading.Barrier(count)

    def hold():
        holding.wait(10)  # inside race()'s connection: every thread holds one at once
        return db.connection()

    return race(*[hold] * count)


def test_a_web_process_closes_the_connections_a_burst_left_idle_and_keeps_those_in_use(app):
    idle = checked_out_together(4)
    assert len({id(conn) for conn in idle}) == 4 and not any(is_closed(conn) for conn in idle)
    with db.connection_context():
        in_use = db.connection()
        releasing = threading.Thread(target=release_idle)  # the web worker's thread (smsbulk/serving.py)
        releasing.start()
        releasing.join(10)
        assert db.execute_sql("SELECT 7").fetchone()[0] == 7 and db.connection() is in_use
    assert all(is_closed(conn) for conn in idle if conn is not in_use)
    with db.connection_context():  # the pool opens a new one when asked
        assert db.execute_sql("SELECT 8").fetchone()[0] == 8
