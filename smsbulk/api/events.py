"""The events API: the account's event log, read by cursor, with an optional long-poll wait."""

from flask import g
from flask.views import MethodView

from ..services import activations, event_feed, rentals
from .base import Blueprint
from .docs import errors
from .scopes import scope
from .webhook_schemas import EventPageSchema, EventQuerySchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="The event log, by cursor")


@blp.route("")
class Events(MethodView):
    @scope("read")
    @blp.doc(operationId="listEvents")
    @blp.arguments(EventQuerySchema(), location="query")
    @blp.response(200, EventPageSchema)
    @errors(404, 422)
    def get(self, query):
        """Your events after a cursor, oldest first; `wait` (at most 30 s) answers as soon as one
        exists, or with an empty page when the time is up. One call counts as one request."""
        user_id = g.caller.user_id
        activation, rental = query.get("activation_id"), query.get("rental_id")
        return event_feed.page(
            user_id,
            after=query["after"],
            types=[name for name in query.get("types", "").split(",") if name] or None,
            activation_id=activations.get_for_owner(user_id, activation).id if activation else None,
            rental_id=rentals.get_for_owner(user_id, rental).id if rental else None,
            limit=query["limit"],
            wait=query["wait"],
        )
