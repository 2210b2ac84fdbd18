"""SQLite's writers take turns on a file lock, woken by the kernel the moment it is free.

SQLite has one writer at a time. A connection that finds the write lock taken waits in SQLite's
busy handler, which sleeps 1, 2, 5, 10, 15 ms ... between tries, whenever the lock was freed: a
write that waited for a 0.3 ms transaction often waited 3 ms. Under gevent that sleep stops every
request of the process. Under purchases (a web transaction and two worker ones each), these sleeps
held a web process still a tenth of the time, with the CPU idle.

So a connection about to write first takes an exclusive flock() on `<database>.writer`, held until
its transaction ends (or its one statement, outside a transaction); the processes' threads take
turns on a lock of their own first, since flock() is shared by a process's threads. Writers still
wait for each other, but each starts the moment the one before it commits. SQLite's own lock and
busy timeout stay as they were, for any writer that goes around this (another program, the
sqlite3 shell).
"""

from __future__ import annotations

import fcntl
import functools
import os
import sys
import threading

from .extensions import private_files

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


@functools.cache
def writer_turn(path: str) -> WriterTurn:
    """One per database file: two pools of a process on one file share it, so a thread that
    writes through both waits on SQLite's busy timeout, as before, not on itself for ever."""
    return WriterTurn(os.path.realpath(path))


def _lock(fd: int) -> None:
    """flock(LOCK_EX). Under gevent it is waited for in short sleeps, which let the process's
    other requests run: a blocking flock() there would stop them all while it waits."""
    if not _cooperative():
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    import gevent

    delay = 0.00005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            gevent.sleep(delay)
            delay = min(delay * 2, 0.0005)


def _cooperative() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


class WriterTurn:
    """The file lock of one database, with this process's threads queued in front of it."""

    def __init__(self, path: str) -> None:
        self.path = path + ".writer"
        self._mine: _ProcessTurn | None = None

    def _here(self) -> _ProcessTurn:
        """This process's side, made by the first writer of the process (after a fork too)."""
        mine = self._mine
        if mine is None or mine.pid != os.getpid():
            with _SETUP:  # the first writers race here: all must share one file and one lock
                mine = self._mine
                if mine is None or mine.pid != os.getpid():
                    mine = self._mine = _ProcessTurn(self.path)
        return mine

    def acquire(self) -> None:
        mine = self._here()
        mine.mutex.acquire()
        if mine.depth == 0:
            try:
                _lock(mine.fd)
            except BaseException:
                mine.mutex.release()
                raise
        mine.depth += 1

    def release(self) -> None:
        mine = self._here()
        mine.depth -= 1
        if mine.depth == 0:
            fcntl.flock(mine.fd, fcntl.LOCK_UN)
        mine.mutex.release()


# Held only while a process's side is made (no I/O that could switch greenlets inside), so a lock
# made before gevent patches threading is still safe to take under gevent.
_SETUP = threading.Lock()


class _ProcessTurn:
    """A process's side of a WriterTurn: a file of its own (a flock taken through a file opened
    before a fork is shared with the parent) and the lock its threads queue on, made after gevent
    has patched threading so that greenlets queue on it too."""

    def __init__(self, path: str) -> None:
        with private_files():
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.pid = os.getpid()
        self.mutex = threading.RLock()  # reentrant: a thread's second connection must not deadlock
        self.depth = 0  # changed only by the thread holding the mutex


class QueuedWriters:
    """A SQLite database (mixin) whose connections take their WriterTurn before writing."""

    writer_turn: WriterTurn

    def _take_turn(self) -> None:
        if not getattr(self._state, "has_turn", False):
            self.writer_turn.acquire()
            self._state.has_turn = True

    def _end_turn(self) -> None:
        if getattr(self._state, "has_turn", False):
            self._state.has_turn = False
            self.writer_turn.release()

    def begin(self, lock_type=None):
        if lock_type == "IMMEDIATE":
            self._take_turn()
        try:
            return super().begin(lock_type)
        except BaseException:
            self._end_turn()
            raise

    def execute_sql(self, sql, params=None):
        if getattr(self._state, "has_turn", False) or not sql.lstrip()[:6].upper().startswith(WRITES):
            return super().execute_sql(sql, params)
        self._take_turn()
        if self.in_transaction():
            return super().execute_sql(sql, params)  # held until the transaction ends
        try:
            return super().execute_sql(sql, params)
        finally:
            self._end_turn()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._end_turn()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._end_turn()

    def close(self):
        try:
            return super().close()
        finally:
            self._end_turn()
