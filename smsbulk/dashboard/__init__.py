"""The web dashboard: a third face over the services, beside api/ and legacy/.

Server-rendered pages under /dashboard for account owners and, under /dashboard/admin, for
operators. Each view parses its form or query, makes one service call and renders.
"""

from __future__ import annotations

from flask import Flask, redirect, url_for

from . import access, account_views, admin_views, owner_views  # noqa: F401 - their routes attach to bp
from .blueprint import bp

__all__ = ["bp", "register"]


def register(app: Flask) -> None:
    access.init_app(app)
    app.register_blueprint(bp)

    @app.route("/")
    def home():
        return redirect(url_for("dashboard.overview"))

    @app.route("/login")
    def login_page():
        return redirect(url_for("dashboard.login"))

    @app.route("/signup")
    def signup_page():
        return redirect(url_for("dashboard.signup"))
