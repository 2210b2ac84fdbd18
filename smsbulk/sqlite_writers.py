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
        self.pid: int | None = None

    def _for_this_process(self) -> None:
        """After a fork, a lock and a file of the child's own (a flock is shared with the parent)."""
        if self.pid != os.getpid():
            with private_files():
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.mutex = threading.RLock()  # reentrant: a thread's second connection must not deadlock
            self.depth = 0
            self.pid = os.getpid()

    def acquire(self) -> None:
        self._for_this_process()
        self.mutex.acquire()
        if self.depth == 0:
            try:
                _lock(self.fd)
            except BaseException:
                self.mutex.release()
                raise
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.mutex.release()


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
