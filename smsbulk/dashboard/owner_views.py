"""The account owner's pages."""

from __future__ import annotations

from flask import render_template

from ..services import dashboard as service
from .access import current_user, login_required
from .blueprint import bp


@bp.route("/")
@login_required
def overview():
    return render_template("dashboard/overview.html", view=service.overview(current_user.id))
