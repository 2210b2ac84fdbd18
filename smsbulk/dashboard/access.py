"""Who is signed in to the dashboard: Flask-Login's sessions, and the admin check.

A session names its user and the user's session version (`<id>.<version>`): a password change
raises the version, and every session opened before it stops loading its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Flask, abort
from flask_login import LoginManager, UserMixin, current_user, login_required

from ..models import User

login_manager = LoginManager()
login_manager.login_view = "dashboard.login"
login_manager.login_message = "Log in to see this page."
login_manager.login_message_category = "info"

__all__ = ["admin_required", "current_user", "login_required", "SessionUser"]


@dataclass(frozen=True)
class SessionUser(UserMixin):
    id: int
    email: str
    role: str
    session_version: int

    @classmethod
    def of(cls, user: User) -> SessionUser:
        return cls(user.id, user.email, user.role, user.session_version)

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = User.get_or_none(User.id == int(user_id))
    if user is None or user.session_version != int(version):
        return None  # the account is gone, or its password changed since this session began
    return SessionUser.of(user)


def init_app(app: Flask) -> None:
    # Flask-Login's own init_app also hooks every request of the app for a remember-me cookie
    # the dashboard never sets; the APIs' requests skip that.
    app.login_manager = login_manager


def admin_required(view):
    """A page for operators: logged out goes to the login page, a user without role admin gets 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
