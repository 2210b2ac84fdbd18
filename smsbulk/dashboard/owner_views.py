"""The account owner's pages: overview, ledger, keys, activations, buying, webhooks.

Each view parses its form or query string, makes one service call and renders; a DomainError
from the service is shown by the blueprint's handler (blueprint.py).
"""

from __future__ import annotations

from flask import Response, flash, jsonify, redirect, render_template, request, url_for

from ..errors import BadRequest
from ..models.users import SCOPES
from ..services import activations, keys, webhooks
from ..services import dashboard as service
from .access import current_user, login_required
from .blueprint import NAV_ITEMS, bp, safe_target

NAV_ITEMS.extend(
    [
        ("dashboard.keys_page", "API keys"),
        ("dashboard.buy_page", "Buy a number"),
        ("dashboard.activations_page", "Activations"),
        ("dashboard.ledger_page", "Ledger"),
        ("dashboard.webhooks_page", "Webhooks"),
        ("dashboard.docs_page", "Docs"),
    ]
)


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() else 1


def _whole(name: str, blank=None) -> int | None:
    """A whole number from the form; blank gives `blank`."""
    text = request.form.get(name, "").strip()
    if not text:
        return blank
    if not text.isdigit() or len(text) > 12:
        raise BadRequest(f"{name.replace('_', ' ')}: a whole number")
    return int(text)


def _owner() -> keys.Actor:
    return keys.Actor(current_user.id)


@bp.route("/")
@login_required
def overview():
    return render_template("dashboard/overview.html", view=service.overview(current_user.id))


@bp.route("/ledger")
@login_required
def ledger_page():
    view = service.ledger(current_user.id, request.args.get("kind"), _page_number())
    return render_template("dashboard/ledger.html", view=view)


@bp.route("/ledger.csv")
@login_required
def ledger_csv():
    text = service.ledger_csv(current_user.id, request.args.get("kind"))
    disposition = {"Content-Disposition": "attachment; filename=ledger.csv"}
    return Response(text, mimetype="text/csv", headers=disposition)


# API keys


@bp.route("/keys")
@login_required
def keys_page():
    return render_template("dashboard/keys.html", keys=service.key_list(current_user.id), scopes=SCOPES, secret=None)


@bp.route("/keys", methods=["POST"])
@login_required
def create_key():
    created = keys.create(
        _owner(),
        name=request.form.get("name", "").strip() or "default",
        daily_quota=_whole("daily_quota"),
        scopes=request.form.getlist("scopes"),
        max_purchases_per_day=_whole("max_purchases_per_day"),
        max_spend_per_day=request.form.get("max_spend_per_day", "").strip() or None,
    )
    return _show_secret(created, "created")


def _show_secret(key, done: str):
    """The secret is on this answer and nowhere else: not in a redirect, the session or a log."""
    page = render_template(
        "dashboard/keys.html",
        keys=service.key_list(current_user.id),
        scopes=SCOPES,
        secret=key.secret,
        shown=key,
        done=done,
    )
    return page, 201 if done == "created" else 200


@bp.route("/keys/<public_id>/rotate", methods=["POST"])
@login_required
def rotate_key(public_id: str):
    return _show_secret(keys.rotate(_owner(), public_id), "rotated")


@bp.route("/keys/<public_id>/revoke", methods=["POST"])
@login_required
def revoke_key(public_id: str):
    revoked = keys.revoke(_owner(), public_id)
    flash(f"Key {revoked.name} ({revoked.prefix}…) is revoked: the APIs refuse it from now on.", "success")
    return redirect(url_for("dashboard.keys_page"), code=303)


# Activations


def _filter() -> service.ActivationFilter:
    args = request.args
    return service.ActivationFilter.parse(args.get("status"), args.get("service"), args.get("country"))


@bp.route("/activations")
@login_required
def activations_page():
    view = service.activation_list(current_user.id, _filter(), _page_number())
    return render_template("dashboard/activations.html", view=view)


@bp.route("/activations/live")
@login_required
def activations_live():
    """For the page's script: the named activations as they are now (polled while any is open)."""
    ids = [part for part in request.args.get("ids", "").split(",") if part][: service.MAX_LIVE]
    return jsonify(service.live(current_user.id, ids))


ACTIONS = {
    "cancel": (activations.cancel, "cancelled and refunded"),
    "finish": (activations.finish, "finished"),
    "another": (activations.request_another_code, "waiting for another code"),
}


@bp.route("/activations/<public_id>/<action>", methods=["POST"])
@login_required
def activation_action(public_id: str, action: str):
    if action not in ACTIONS:
        raise BadRequest("unknown action")
    call, done = ACTIONS[action]
    activation = call(current_user.id, public_id)
    flash(f"Activation {activation.public_id}: {done}.", "success")
    return redirect(safe_target(request.form.get("back", ""), "dashboard.activations_page"), code=303)


# Buying a number


@bp.route("/buy")
@login_required
def buy_page():
    choices = service.buy_choices(request.args.get("service"), request.args.get("country"))
    return render_template("dashboard/buy.html", view=choices)


@bp.route("/buy", methods=["POST"])
@login_required
def buy():
    form = request.form
    activation = service.buy(
        current_user.id,
        form.get("service", ""),
        form.get("country", ""),
        form.get("operator", "any"),
        form.get("max_price", ""),
    )
    number = activation.phone_number or "(the number is on its way)"
    flash(f"Bought {number} for {activation.user_cost} USD: the code appears below when it arrives.", "success")
    return redirect(url_for("dashboard.activations_page"), code=303)


# Webhooks


@bp.route("/webhooks")
@login_required
def webhooks_page():
    return render_template(
        "dashboard/webhooks.html",
        hooks=service.webhook_list(current_user.id),
        types=webhooks.known_event_types(),
        secret=None,
    )


@bp.route("/webhooks", methods=["POST"])
@login_required
def create_webhook():
    hook, secret = webhooks.create(current_user.id, request.form.get("url", "").strip(), request.form.getlist("types"))
    page = render_template(
        "dashboard/webhooks.html",
        hooks=service.webhook_list(current_user.id),
        types=webhooks.known_event_types(),
        secret=secret,
        shown=hook,
    )
    return page, 201


@bp.route("/webhooks/<public_id>/delete", methods=["POST"])
@login_required
def delete_webhook(public_id: str):
    webhooks.delete(current_user.id, public_id)
    flash("The webhook is deleted.", "success")
    return redirect(url_for("dashboard.webhooks_page"), code=303)


@bp.route("/webhooks/<public_id>/<switch>", methods=["POST"])
@login_required
def switch_webhook(public_id: str, switch: str):
    if switch not in ("enable", "disable"):
        raise BadRequest("unknown action")
    webhooks.change(current_user.id, public_id, enabled=switch == "enable")
    flash(f"The webhook is {switch}d.", "success")
    return redirect(url_for("dashboard.webhooks_page"), code=303)


@bp.route("/docs")
@login_required
def docs_page():
    return render_template("dashboard/docs.html")
