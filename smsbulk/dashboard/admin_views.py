"""The operator's pages, under /dashboard/admin: each is admin_required, each view parses its
query or form, makes one service call and renders (or flashes and redirects after a POST).

A page and its forms share one URL (a form says what it does in `action`), so a refused form
comes back to its own page with the reason on top (blueprint.domain_error).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request

from ..errors import BadRequest
from ..services import admin_activations, admin_providers, admin_users, audit, price_overrides, queue_health
from ..services.pages import page_number
from .access import admin_required, current_user
from .blueprint import bp

# The console's own navigation: (endpoint, label).
ADMIN_NAV = [
    ("dashboard.admin_index", "Console"),
    ("dashboard.admin_users", "Users"),
    ("dashboard.admin_providers", "Providers"),
    ("dashboard.admin_prices", "Prices"),
    ("dashboard.admin_activations", "Activations"),
    ("dashboard.admin_queues", "Queues"),
]


def _render(template: str, **context):
    return render_template(f"dashboard/admin/{template}", admin_nav=ADMIN_NAV, **context)


def _operator() -> audit.Operator:
    return audit.Operator.of(current_user)


def _back(message: str, category: str = "success"):
    """After a form: its message on top of the page it came from (Post/Redirect/Get)."""
    flash(message, category)
    return redirect(request.full_path if request.query_string else request.path, code=303)


def _synced(result: dict[str, int]) -> str:
    words = {-1: "sync failed, previous prices kept", -2: "disabled, not synced"}
    return "; ".join(f"{name}: {words.get(count, f'{count} prices')}" for name, count in result.items())


@bp.route("/admin/", endpoint="admin_index")
@admin_required
def index_page():
    return _render("index.html", trail=audit.recent(30))


@bp.route("/admin/users", endpoint="admin_users")
@admin_required
def users_page():
    query = request.args.get("q", "")
    return _render("users.html", query=query, found=admin_users.search(query, page_number(request.args.get("page"))))


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"], endpoint="admin_user")
@admin_required
def user_page(user_id: int):
    if request.method == "GET":
        return _render("user.html", view=admin_users.account(user_id))
    form = request.form
    done = admin_users.adjust(_operator(), user_id, form.get("amount"), form.get("reason"), form.get("token"))
    if done.replayed:
        return _back(f"This form was already submitted: the balance is {done.balance}.", "info")
    return _back(f"Adjusted by {done.entry.amount}: the balance is now {done.balance}.")


@bp.route("/admin/providers", methods=["GET", "POST"], endpoint="admin_providers")
@admin_required
def providers_page():
    if request.method == "GET":
        return _render("providers.html", view=admin_providers.overview(request.args.get("balance", "")))
    form, operator = request.form, _operator()
    action, name = form.get("action", ""), form.get("name", "")
    settings = {field: form.get(field) for field in ("base_url", "api_key", "priority", "markup")}
    if action == "add":
        result = admin_providers.add(operator, name, form.get("kind"), **settings)
        return _back(f"Provider {name.strip()} added. {_synced(result)}")
    if action == "change":
        return _back(f"Provider {name} changed. {_synced(admin_providers.change(operator, name, **settings))}")
    if action in ("enable", "disable"):
        result = admin_providers.set_enabled(operator, name, action == "enable")
        return _back(f"Provider {name} {action}d. {_synced(result)}".strip())
    if action == "sync":
        return _back(f"Prices synced. {_synced(admin_providers.sync(operator, name))}")
    raise BadRequest("Unknown action")


@bp.route("/admin/prices", methods=["GET", "POST"], endpoint="admin_prices")
@admin_required
def prices_page():
    args = request.args
    service, country = args.get("service", "").strip(), args.get("country", "").strip()
    if request.method == "GET":
        view = price_overrides.prices(service, country, page_number(args.get("page")))
        return _render("prices.html", view=view, service=service, country=country)
    form, operator = request.form, _operator()
    if form.get("action") == "remove":
        repriced = price_overrides.remove_override(operator, form.get("service"), form.get("country"))
        return _back(f"Override removed: {repriced} offers back at cost x markup.")
    found = price_overrides.set_override(operator, form.get("service"), form.get("country"), form.get("price"))
    return _back(f"Users now pay {found.price} for {found.service_id} in country {found.country_id}.")


@bp.route("/admin/activations", endpoint="admin_activations")
@admin_required
def activations_page():
    filters = {
        name: request.args.get(name, "").strip() for name in ("status", "service", "country", "email", "provider")
    }
    found = admin_activations.listing(**filters, page=page_number(request.args.get("page")))
    return _render("activations.html", found=found, filters=filters, statuses=admin_activations.STATUSES)


@bp.route("/admin/queues", endpoint="admin_queues")
@admin_required
def queues_page():
    return _render("queues.html", view=queue_health.snapshot())
