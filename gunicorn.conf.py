"""Gunicorn settings for the web process; the README's "Performance" section says how they were chosen.

Each one can be overridden from the environment, so an operator can re-measure with `make bench`.
"""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# A request is CPU-bound Python, so processes (one per core), not threads, are what use the cores.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads cover the waits: Redis and database round trips, and a purchase waiting for its job.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Bots poll every few seconds: a connection kept open that long serves the next poll too.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# "-" logs every request to stdout; empty turns the access log off.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
# The path without its query string: legacy clients send their API key as ?api_key=..., and a key
# must never reach a log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
timeout = 30
graceful_timeout = 10
