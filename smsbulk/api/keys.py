"""API keys: the account's keys listed, created, changed, rotated and revoked (the `keys` scope)."""

from flask import g
from flask.views import MethodView

from ..services import keys
from .base import Blueprint, PeeweePage
from .docs import errors
from .schemas import (
    CurrentKeySchema,
    IssuedKeySchema,
    KeyChangeSchema,
    KeyCreateSchema,
    KeyQuerySchema,
    KeySchema,
    RotateSchema,
)
from .scopes import scope

blp = Blueprint("keys", __name__, url_prefix="/api/v1/keys", description="API keys")


def actor() -> keys.Actor:
    return keys.Actor.of(g.caller)


class KeyPage(PeeweePage):
    """A page of keys, with what each has used (read for that page only)."""

    finish = staticmethod(keys.with_usage)


@blp.route("")
class Keys(MethodView):
    @scope("keys")
    @blp.doc(operationId="listKeys")
    @blp.arguments(KeyQuerySchema(), location="query")
    @blp.response(200, KeySchema(many=True))
    @blp.paginate(KeyPage)
    @errors(422)
    def get(self, query):
        """The account's keys, newest first, revoked and expired ones included unless `state` says"""
        return keys.listing(actor(), query.get("state"))

    @scope("keys")
    @blp.doc(operationId="createKey")
    @blp.arguments(KeyCreateSchema(), required=False)  # every field has a default: no body is fine
    @blp.response(201, IssuedKeySchema)
    @errors(409, 422)
    def post(self, body):
        """Create a key (at most 10 active): its secret is in this answer only"""
        return keys.create(actor(), **body)


@blp.route("/current")
class CurrentKey(MethodView):
    @scope(None)
    @blp.doc(operationId="getCurrentKey")
    @blp.response(200, CurrentKeySchema)
    @errors()
    def get(self):
        """The calling key: its settings, scopes, usage today and quota reset time (any key)"""
        return keys.current(g.caller, g.usage)


@blp.route("/<key_id>")
class KeyById(MethodView):
    @scope("keys")
    @blp.doc(operationId="getKey")
    @blp.response(200, KeySchema)
    @errors(404)
    def get(self, key_id):
        """One key"""
        return keys.get(actor(), key_id)

    @scope("keys")
    @blp.doc(operationId="updateKey")
    @blp.arguments(KeyChangeSchema(), required=False)  # every field has a default: no body is fine
    @blp.response(200, KeySchema)
    @errors(404, 409, 422)
    def patch(self, body, key_id):
        """Change a key's name, quota, guardrails, scopes or allowed IPs; what is not sent stays"""
        return keys.change(actor(), key_id, **body)

    @scope("keys")
    @blp.doc(operationId="revokeKey")
    @blp.response(200, KeySchema)
    @errors(404)
    def delete(self, key_id):
        """Revoke a key: refused everywhere within a second (revoking it again changes nothing)"""
        return keys.revoke(actor(), key_id)


@blp.route("/<key_id>/rotate")
class RotateKey(MethodView):
    @scope("keys")
    @blp.doc(operationId="rotateKey")
    @blp.arguments(RotateSchema(), required=False)
    @blp.response(200, IssuedKeySchema)
    @errors(404, 409, 422)
    def post(self, body, key_id):
        """A new secret for the same key (id, name and settings kept), shown in this answer only"""
        return keys.rotate(actor(), key_id, (body or {}).get("grace_period_seconds", 0))
