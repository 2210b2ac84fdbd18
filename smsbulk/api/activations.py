from flask import g, request
from flask.views import MethodView

from ..services import activations, reactivations, subject_waits
from ..services.catalog import resolve_country, resolve_service
from .base import Blueprint, PeeweePage
from .conditional import ETAG_HEADER, conditional, seen
from .docs import errors
from .idempotency import idempotent
from .schemas import (
    ActivationCreateSchema,
    ActivationQuerySchema,
    ActivationSchema,
    ReactivateSchema,
    ReactivationQuoteSchema,
)
from .scopes import scope
from .webhook_schemas import WaitSchema

blp = Blueprint("activations", __name__, url_prefix="/api/v1/activations", description="Buy numbers, get codes")


def order_from(body: dict) -> activations.Order:
    return activations.Order(
        service=resolve_service(body["service_code"]),
        country=resolve_country(body.get("country_iso", body.get("country_id"))),
        operator=body.get("operator") or "any",
        max_price=body.get("max_price"),
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:128] or None,
    )


@blp.route("")
class Activations(MethodView):
    @idempotent
    @scope("purchase")
    @blp.arguments(ActivationCreateSchema(), example={"serviceCode": "wa", "countryIso": "TR"})  # built once
    @blp.response(201, ActivationSchema)
    @blp.alt_response(202, schema=ActivationSchema, description="Still PENDING: poll it", success=True)
    @errors(402, 403, 404, 409, 415, 422, 503)
    @blp.doc(operationId="createActivation")
    def post(self, body):
        """Buy a number: answers with it (201) or, if the upstream is slow, PENDING (202)"""
        activation = activations.buy(g.caller, order_from(body))
        return activation, 202 if activation.status == "PENDING" else 201

    @scope("read")
    @blp.arguments(ActivationQuerySchema(), location="query")
    @blp.response(200, ActivationSchema(many=True))
    @blp.paginate(PeeweePage)
    @errors(422)
    @blp.doc(operationId="listActivations")
    def get(self, query):
        """Your activations, newest first"""
        return activations.list_for_owner(g.caller.user_id, query.get("status"))


@blp.route("/<activation_id>")
class ActivationById(MethodView):
    @scope("read")
    @blp.arguments(WaitSchema(), location="query")
    @blp.response(200, ActivationSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description="Unchanged since the ETag given in If-None-Match")
    @errors(404, 422)
    @blp.doc(operationId="getActivation")
    def get(self, query, activation_id):
        """One activation with its SMS. With `wait` (at most 30 s) it answers as soon as the
        activation differs from the answer last seen (If-None-Match or `since`: its ETag), or
        while it waits for a number or a code, as soon as that changes; else when the time is up
        (304 with If-None-Match, the unchanged answer with `since`). One call counts as one request."""
        found = subject_waits.activation_when_changed(g.caller.user_id, activation_id, seen(query), query["wait"])
        return conditional(found)


def _action(name: str, service_call, summary: str):
    @scope("purchase")
    @blp.response(200, ActivationSchema)
    @errors(404, 409)
    @blp.doc(operationId=f"{name}Activation")
    def view(activation_id):
        return service_call(g.caller.user_id, activation_id)

    view.__doc__ = summary
    blp.add_url_rule(f"/<activation_id>/{name}", f"{name}_activation", view, methods=["POST"])


_action("cancel", activations.cancel, "Cancel before any code arrived: refunded in full")
_action("finish", activations.finish, "Finish after the code arrived")
_action("retry", activations.request_another_code, "Ask for another code (free)")


@blp.route("/<activation_id>/reactivation")
class Reactivation(MethodView):
    @scope("read")
    @blp.doc(operationId="quoteReactivation")
    @blp.response(200, ReactivationQuoteSchema)
    @errors(404, 409)
    def get(self, activation_id):
        """The price of buying a completed activation's number again, for the same service (the price check first)"""
        return reactivations.quote(g.caller.user_id, activation_id)


@blp.route("/<activation_id>/reactivate")
class Reactivate(MethodView):
    @idempotent
    @scope("purchase")
    @blp.doc(operationId="reactivateActivation")
    @blp.arguments(ReactivateSchema())
    @blp.response(201, ActivationSchema)
    @blp.alt_response(202, schema=ActivationSchema, description="Still PENDING: poll it", success=True)
    @errors(402, 403, 404, 409, 422, 503)
    def post(self, body, activation_id):
        """Buy a completed activation's number again: a new activation on the same phone, same service"""
        key = (request.headers.get("Idempotency-Key") or "").strip()[:128] or None
        activation = reactivations.reactivate(g.caller, activation_id, body.get("max_price"), key)
        return activation, 202 if activation.status == "PENDING" else 201
