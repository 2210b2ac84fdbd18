"""Sign up, log in, log out, change password."""

from __future__ import annotations

import secrets

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from ..errors import LoginFailed, LoginLocked, SignupClosed
from ..services import logins
from .access import SessionUser, current_user, login_required
from .blueprint import bp, safe_target


def _start_session(user) -> None:
    """Whatever the browser held before is dropped, and the session gets a new id: a session
    planted before the login (fixation) is worth nothing after it."""
    session.clear()
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)
    login_user(SessionUser.of(user))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    enabled = current_app.config["SIGNUP_ENABLED"]
    if request.method == "GET":
        return render_template("dashboard/signup.html", enabled=enabled, email="")
    email, password = request.form.get("email", ""), request.form.get("password", "")
    try:
        user = logins.sign_up(email, password)
    except SignupClosed as error:
        return render_template("dashboard/signup.html", enabled=False, email=email, error=error.message), 403
    _start_session(user)
    flash("Welcome: your account is ready. Create an API key to start.", "success")
    return redirect(url_for("dashboard.overview"), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("dashboard/login.html", email="", next=request.args.get("next", ""))
    email, password = request.form.get("email", ""), request.form.get("password", "")
    try:
        user = logins.log_in(email, password, request.remote_addr or "")
    except (LoginFailed, LoginLocked) as error:
        page = render_template("dashboard/login.html", email=email, error=error.message, next="")
        retry = {"Retry-After": str(error.details["retryAfter"])} if "retryAfter" in error.details else {}
        return page, error.http_status, retry
    _start_session(user)
    return redirect(safe_target(request.form.get("next", ""), "dashboard.overview"), code=303)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("dashboard.login"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    if request.method == "GET":
        return render_template("dashboard/account.html")
    user = logins.change_password(
        current_user.id, request.form.get("current_password", ""), request.form.get("new_password", "")
    )
    _start_session(user)  # this session goes on at the new version; the others end
    flash("Password changed. Every other session of this account is logged out.", "success")
    return redirect(url_for("dashboard.account"), code=303)
