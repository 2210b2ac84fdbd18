"""SQLite's writers take turns on `<database>.writer` (smsbulk/sqlite_writers.py): a connection
holds the turn from its first write to the end of its transaction, or for its one statement
outside a transaction, and gives it back however the transaction ends.

Another process's view of the turn is a second open file of the lock: flock() locks held
through one open file block those through another, in one process as across processes.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os

import pytest

from smsbulk.db import open_database

pytestmark = pytest.mark.sqlite_only  # a SQLite file of its own whatever DATABASE_URL says: run once


@pytest.fixture
def database(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'turns.db'}")
    with database.connection_context():
        database.execute_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        database.execute_sql("INSERT INTO counter (n) VALUES (0)")
    yield database
    database.close_all()


def turn_taken(database) -> bool:
    """Whether some writer holds the turn, seen as another process sees it."""
    fd = os.open(database.database + ".writer", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_an_immediate_transaction_holds_the_turn_from_begin_to_commit_or_rollback(database):
    with database.connection_context():
        with database.atomic("IMMEDIATE"):
            assert turn_taken(database)
            database.execute_sql("UPDATE counter SET n = n + 1")
            assert turn_taken(database)
        assert not turn_taken(database)
        with pytest.raises(ZeroDivisionError), database.atomic("IMMEDIATE"):
            database.execute_sql("UPDATE counter SET n = n + 1")
            raise ZeroDivisionError
        assert not turn_taken(database)
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (1,)


def test_a_deferred_transaction_takes_the_turn_at_its_first_write_and_a_read_takes_none(database):
    with database.connection_context():
        with database.atomic():
            database.execute_sql("SELECT n FROM counter").fetchone()
            assert not turn_taken(database)
            database.execute_sql("UPDATE counter SET n = n + 1")
            assert turn_taken(database)
            database.execute_sql("UPDATE counter SET n = n + 1")  # the same turn: no second take
        assert not turn_taken(database)
        database.execute_sql("UPDATE counter SET n = n + 1")  # a statement on its own
        assert not turn_taken(database)
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (3,)


def test_a_connection_closed_inside_its_transaction_gives_the_turn_back(database):
    database.connect()
    database.begin("IMMEDIATE")
    database.execute_sql("UPDATE counter SET n = n + 1")
    assert turn_taken(database)
    database.close()
    assert not turn_taken(database)
    with database.connection_context():
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (0,)  # rolled back


def _add(path: str, times: int) -> None:
    """Read-then-write increments: each one's read must see the one before it."""
    database = open_database(f"sqlite:///{path}")
    with database.connection_context():
        for _ in range(times):
            with database.atomic("IMMEDIATE"):
                (n,) = database.execute_sql("SELECT n FROM counter").fetchone()
                database.execute_sql("UPDATE counter SET n = ?", (n + 1,))
    database.close_all()


def test_writers_of_two_processes_and_several_threads_all_land(database):
    from concurrent.futures import ThreadPoolExecutor

    child = multiprocessing.get_context("fork").Process(target=_add, args=(database.database, 200))
    child.start()
    with ThreadPoolExecutor(max_workers=4) as threads:
        list(threads.map(lambda _: _add(database.database, 50), range(4)))
    child.join(60)
    assert child.exitcode == 0
    with database.connection_context():
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (400,)
    assert not turn_taken(database)


def test_the_first_writers_of_a_process_share_one_file_and_one_lock(database, monkeypatch):
    """Threads that write at once in a process that has not written yet (a web process just
    started) must all queue on one lock: each making a side of its own once left one thread's
    flock held for ever, and the process's other writers, and other processes', stopped."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from smsbulk import sqlite_writers

    made = []
    slowly_made = sqlite_writers._ProcessTurn.__init__

    def slow(self, path):
        time.sleep(0.02)  # widens the race the first writers run
        slowly_made(self, path)
        made.append(self)

    monkeypatch.setattr(sqlite_writers._ProcessTurn, "__init__", slow)
    database.writer_turn._mine = None  # as in a process that has not written yet
    barrier = threading.Barrier(8)

    def write(_):
        barrier.wait()
        with database.connection_context(), database.atomic("IMMEDIATE"):
            database.execute_sql("UPDATE counter SET n = n + 1")

    with ThreadPoolExecutor(max_workers=8) as threads:
        list(threads.map(write, range(8)))
    assert len(made) == 1 and database.writer_turn._mine is made[0]
    assert not turn_taken(database)
    with database.connection_context():
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (8,)


GEVENT_WAITER = """
from gevent import monkey

monkey.patch_all()

import fcntl, json, os, subprocess, sys, time

import gevent

from smsbulk.db import open_database

path = sys.argv[1]
holder = subprocess.Popen([sys.executable, "-c", HOLDER, path + ".writer"], stdout=subprocess.PIPE)
holder.stdout.readline()  # it holds the turn now, for 0.3 s
database = open_database(f"sqlite:///{path}")
ticks = []


def other_requests():
    while len(ticks) < 1000:
        ticks.append(time.monotonic())
        gevent.sleep(0.005)


def writer():
    with database.connection_context():
        started = time.monotonic()
        database.execute_sql("UPDATE counter SET n = n + 1")
        return started, time.monotonic()


background = gevent.spawn(other_requests)
started, wrote = gevent.spawn(writer).get()
background.kill()
holder.wait()
print(json.dumps({"waited": wrote - started, "ticks_meanwhile": sum(started < t < wrote for t in ticks)}))
"""

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(0.3)
"""


def test_under_gevent_a_writer_waiting_for_its_turn_lets_the_processs_other_requests_run(database):
    import json
    import subprocess
    import sys

    script = GEVENT_WAITER.replace("HOLDER", repr(HOLDER))
    done = subprocess.run([sys.executable, "-c", script, database.database], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    seen = json.loads(done.stdout)
    assert seen["waited"] > 0.2  # it did wait for the other process
    assert seen["ticks_meanwhile"] >= 20  # every 5 ms while it waited, not stopped with it
    with database.connection_context():
        assert database.execute_sql("SELECT n FROM counter").fetchone() == (1,)
