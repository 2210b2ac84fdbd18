"""The web ceiling of `make bench`: a bare Flask app answering a constant, under the same Gunicorn settings."""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def constant() -> str:
    return "ok"


@app.get("/pid")
def pid() -> str:
    """Which process answered: the web process tests check how connections spread."""
    return str(os.getpid())
