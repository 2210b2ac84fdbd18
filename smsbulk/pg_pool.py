"""PostgreSQL's connection pool without a round trip per checkout when it is busy.

Peewee's pool checks every PostgreSQL connection it hands out with a `SELECT 1`: a round trip,
and a statement for the server, before each request's or job's first query (a purchase makes
six more). A connection given back less than CHECKED_SECONDS ago, with no transaction open, is
handed out again unchecked: it answered a moment ago. Under load a connection is back in use
within milliseconds, so the check is rarely made; one idle for longer is checked as before, so
after a server restart only what runs within that tenth of a second can meet a dead connection
(and fails as it would have mid-request).
"""

from __future__ import annotations

import threading
import time

CHECKED_SECONDS = 0.1


class RecentlyChecked:
    """Mixed in before peewee's PooledPostgresqlDatabase."""

    def __init__(self, *args, **kwargs) -> None:
        self._returned: dict[int, float] = {}  # id of a connection in the pool -> when it came back
        self._returned_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _can_reuse(self, conn) -> bool:
        reusable = super()._can_reuse(conn)
        if reusable:
            with self._returned_lock:
                self._returned[id(conn)] = time.monotonic()
        return reusable

    def _is_closed(self, conn) -> bool:
        with self._returned_lock:
            returned = self._returned.pop(id(conn), None)
        if (
            returned is not None
            and time.monotonic() - returned < CHECKED_SECONDS
            and not conn.closed
            and self._adapter.txn_status(conn) == self._adapter.txn_idle
        ):
            return False
        return super()._is_closed(conn)
