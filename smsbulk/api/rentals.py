"""/api/v1/rentals: numbers held for hours or days, receiving every SMS sent to them."""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView

from ..services import rental_extensions, rentals, subject_waits
from ..services.catalog import resolve_country, resolve_service
from .base import Blueprint, PeeweePage
from .conditional import ETAG_HEADER, conditional, seen
from .docs import errors
from .idempotency import idempotent, key_of_request
from .rental_schemas import (
    ExtendSchema,
    ExtensionQuerySchema,
    ExtensionQuoteSchema,
    RentalCreateSchema,
    RentalQuerySchema,
    RentalSchema,
    RentalSummarySchema,
)
from .scopes import scope
from .webhook_schemas import WaitSchema

blp = Blueprint("rentals", __name__, url_prefix="/api/v1/rentals", description="Rent numbers by the hour or day")


def order_from(body: dict) -> rentals.RentOrder:
    return rentals.RentOrder(
        service=resolve_service(body["service_code"]),
        country=resolve_country(body.get("country_iso", body.get("country_id"))),
        hours=body["hours"],
        operator=body.get("operator") or "any",
        max_price=body.get("max_price"),
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip()[:128] or None,
    )


@blp.route("")
class Rentals(MethodView):
    @idempotent
    @scope("purchase")
    @blp.doc(operationId="createRental")
    @blp.arguments(RentalCreateSchema())
    @blp.response(201, RentalSchema)
    @blp.alt_response(202, schema=RentalSchema, description="Still PENDING: poll it", success=True)
    @errors(402, 403, 404, 409, 422, 503)
    def post(self, body):
        """Rent a number for some hours, paid now: answers with it (201) or, if the upstream is slow, PENDING (202)"""
        rental = rentals.rent(g.caller, order_from(body))
        return rental, 202 if rental.status == "PENDING" else 201

    @scope("read")
    @blp.doc(operationId="listRentals")
    @blp.arguments(RentalQuerySchema(), location="query")
    @blp.response(200, RentalSummarySchema(many=True))
    @blp.paginate(PeeweePage)
    @errors(422)
    def get(self, query):
        """Your rentals, newest first (without their SMS)"""
        return rentals.list_for_owner(g.caller.user_id, query.get("status"))


@blp.route("/<rental_id>")
class RentalById(MethodView):
    @scope("read")
    @blp.doc(operationId="getRental")
    @blp.arguments(WaitSchema(), location="query")
    @blp.response(200, RentalSchema, headers=ETAG_HEADER)
    @blp.alt_response(304, description="Unchanged since the ETag given in If-None-Match")
    @errors(404, 422)
    def get(self, query, rental_id):
        """One rental with every SMS it received. With `wait` (at most 30 s) it answers as soon as
        the rental differs from the answer last seen (If-None-Match or `since`: its ETag), or, while
        it is active, as soon as its next SMS comes; else when the time is up (304 with
        If-None-Match, the unchanged answer with `since`). One call counts as one request."""
        return conditional(subject_waits.rental_when_changed(g.caller.user_id, rental_id, seen(query), query["wait"]))


@blp.route("/<rental_id>/extension")
class Extension(MethodView):
    @scope("read")
    @blp.doc(operationId="quoteRentalExtension")
    @blp.arguments(ExtensionQuerySchema(), location="query")
    @blp.response(200, ExtensionQuoteSchema)
    @errors(404, 409, 422, 503)
    def get(self, query, rental_id):
        """What extending the rental by some hours costs now (the price check before extending)"""
        return rental_extensions.quote(g.caller.user_id, rental_id, query["hours"])


@blp.route("/<rental_id>/extend")
class Extend(MethodView):
    @idempotent
    @scope("purchase")
    @blp.doc(operationId="extendRental")
    @blp.arguments(ExtendSchema())
    @blp.response(200, RentalSchema)
    @errors(402, 403, 404, 409, 422, 503)
    def post(self, body, rental_id):
        """Extend the rental, paying the extra hours now (refused above maxPrice)"""
        key = key_of_request()
        return rental_extensions.extend(g.caller, rental_id, body["hours"], body.get("max_price"), key)


def _action(name: str, service_call, summary: str, operation: str):
    @scope("purchase")
    @blp.doc(operationId=operation)
    @blp.response(200, RentalSchema)
    @errors(404, 409)
    def view(rental_id):
        return service_call(g.caller.user_id, rental_id)

    view.__doc__ = summary
    blp.add_url_rule(f"/<rental_id>/{name}", f"{name}_rental", view, methods=["POST"])


_action("finish", rentals.finish, "End the rental now: no refund", "finishRental")
_action(
    "cancel",
    rentals.cancel,
    "Cancel within 20 minutes of the start and before any SMS: refunded in full",
    "cancelRental",
)
