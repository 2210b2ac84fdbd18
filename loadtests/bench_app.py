"""The web ceiling of `make bench`: a bare Flask app answering a constant, under the same Gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def constant() -> str:
    return "ok"
