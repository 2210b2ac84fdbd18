"""Gunicorn settings for the web process (see the README for how they were chosen)."""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let a request that waits for its purchase job hold a thread, not a whole worker.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
accesslog = os.environ.get("ACCESS_LOG", "-")
# The path without its query string: legacy clients send their API key as ?api_key=..., and a key
# must never reach a log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
timeout = 30
graceful_timeout = 10
