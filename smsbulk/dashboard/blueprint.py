"""The dashboard's blueprint: every page of it, the owner's and the operator's, hangs off `bp`.

Its pages are server-rendered (templates/dashboard/), its CSS and script are served by the app
(static/), and every state-changing request carries a CSRF token (flask-wtf), checked here for
this blueprint only: the REST and legacy APIs authenticate by key and never see it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from ..errors import DomainError

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))


@bp.before_request
def check_csrf() -> None:
    if request.method in UNSAFE_METHODS:
        token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise CSRFError(exc.args[0]) from exc


# The main navigation: (endpoint, label). Pages add themselves where they are defined.
NAV_ITEMS: list[tuple[str, str]] = [("dashboard.overview", "Overview")]


@bp.context_processor
def template_helpers() -> dict:
    return {
        "csrf_token": generate_csrf,
        "current_user": current_user,
        "nav_items": NAV_ITEMS + [("dashboard.account", "Account")],
    }


@bp.after_request
def no_store(response):
    """Pages show balances and, once, key secrets: no cache keeps them, and none frames them."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def safe_target(target: str, fallback: str) -> str:
    """A page of the dashboard to go back to (a login's `next`, a form's `back`), never another site."""
    if target.startswith("/dashboard") and "\\" not in target:
        return target
    return url_for(fallback)


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    return render_template("dashboard/error.html", title="Form expired", message=_csrf_message(error)), 400


def _csrf_message(error: CSRFError) -> str:
    return f"The form was refused ({error.description}). Reload the page and try again."


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    """A refused form goes back to its page with the reason on top; a refused page says why."""
    if request.method in UNSAFE_METHODS:
        flash(error.message, "error")
        return redirect(request.full_path if request.query_string else request.path, code=303)
    return render_template("dashboard/error.html", title="Not possible", message=error.message), error.http_status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (301, 302, 303, 307, 308) or error.code is None:
        return error
    return render_template("dashboard/error.html", title=error.name, message=error.description), error.code
