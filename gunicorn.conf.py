"""Gunicorn settings for the web process; the README's "Performance" section says how they were chosen.

Each one can be overridden from the environment, so an operator can re-measure with `make bench`.
This file runs in Gunicorn's master process: it imports nothing of the app (see smsbulk/serving.py).
"""

import errno
import os
import socket

_host, _port = os.environ.get("BIND_HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))
bind = f"{_host}:{_port}"
# A request is CPU-bound Python, so processes (one per core), not threads, are what use the cores.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent: a greenlet per connection, so slow, idle and waiting clients cost no thread each
# (smsbulk/serving.py); WEB_WORKER_CLASS=gthread runs the previous thread-per-request model.
WORKER_CLASSES = {"gevent": "smsbulk.serving.GeventWorker", "gthread": "smsbulk.serving.ThreadWorker"}
worker_class = WORKER_CLASSES[os.environ.get("WEB_WORKER_CLASS", "gevent")]
# Connections one process holds at once (gevent); idle and slow ones count too.
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "4000"))
# gthread only: threads cover the waits (Redis and database round trips, a purchase waiting for its job).
threads = int(os.environ.get("WEB_THREADS", "8"))
# Bots poll every few seconds: a connection kept open that long serves the next poll too. Under
# gevent it is also how long a client may take to send its request line and headers.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# Gunicorn's own limits sit above the app's (MAX_URL_LENGTH 4 KB, MAX_HEADER_BYTES 16 KB), so the
# app answers most oversized requests in its API's style; beyond these smsbulk.serving does.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
# "-" logs every request to stdout; empty turns the access log off. The line never carries the
# query string: legacy clients send their API key as ?api_key=... (smsbulk.serving.Logger).
accesslog = os.environ.get("ACCESS_LOG", "-") or None
errorlog = "-"
logger_class = "smsbulk.serving.Logger"
timeout = 30
graceful_timeout = 10
# Each process listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections across them. With one shared socket, the process that wakes first accepts a burst
# of new connections, and a kept-alive client stays where it landed: often one process served
# every client on one core while the other idled, at half the throughput.
reuse_port = os.environ.get("WEB_REUSE_PORT", "1") == "1"
# Gunicorn's control socket defaults to one path per user: a second instance would take it over
# and stopping either would remove the other's. None unless asked for, at a path of the instance's own.
control_socket = os.environ.get("WEB_CONTROL_SOCKET") or os.path.expanduser("~/.gunicorn/gunicorn.ctl")
control_socket_disable = not os.environ.get("WEB_CONTROL_SOCKET")


def on_starting(server):
    """SO_REUSEPORT would also let a second SMSBulk share a port already served: refuse, as
    Gunicorn does without it ("Address already in use")."""
    if not reuse_port:
        return
    with socket.socket(socket.AF_INET6 if ":" in _host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT is no server
        try:
            probe.bind((_host, _port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise SystemExit(f"{bind}: address already in use") from None


def post_worker_init(worker):
    """A web without a usable database refuses to start (Gunicorn halts on a worker that fails
    to boot) instead of answering every request with an error."""
    from smsbulk.health import require_database

    if "DATABASE_URL" in getattr(worker.wsgi, "config", {}):  # not the bench's bare Flask app
        require_database(worker.wsgi, on_wait=worker.notify)
