"""Webhooks: endpoints sent the account's events (Standard Webhooks), their deliveries and replays,
and the SMS-Activate-style hook. Managing them needs the `keys` scope: an endpoint receives every
event of the account, codes included, long after the key that set it up is revoked."""

from flask import g
from flask.views import MethodView

from ..services import webhook_delivery, webhooks
from .base import Blueprint, PeeweePage
from .docs import errors
from .scopes import scope
from .webhook_schemas import (
    DeliverySchema,
    IssuedWebhookSchema,
    ReplayAnswerSchema,
    ReplaySchema,
    SecretRotateSchema,
    SetSmsActivateHookSchema,
    SmsActivateHookSchema,
    SmsActivateHookSetSchema,
    WebhookChangeSchema,
    WebhookCreateSchema,
    WebhookSchema,
)

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="Events pushed to your URLs")


def _issued(found: tuple) -> object:
    webhook, secret = found
    if secret:
        webhook.shown_secret = secret  # what the Issued schemas show; the stored secret never is
    return webhook


@blp.route("")
class Webhooks(MethodView):
    @scope("keys")
    @blp.doc(operationId="listWebhooks")
    @blp.response(200, WebhookSchema(many=True))
    @blp.paginate(PeeweePage)
    @errors()
    def get(self):
        """Your webhook endpoints, newest first"""
        return webhooks.listing(g.caller.user_id)

    @scope("keys")
    @blp.doc(operationId="createWebhook")
    @blp.arguments(WebhookCreateSchema())
    @blp.response(201, IssuedWebhookSchema)
    @errors(409, 422)
    def post(self, body):
        """Register an endpoint (https, public); its signing secret is in this answer only"""
        return _issued(webhooks.create(g.caller.user_id, **body))


@blp.route("/sms-activate")
class SmsActivateHook(MethodView):
    @scope("keys")
    @blp.doc(operationId="getSmsActivateHook")
    @blp.response(200, SmsActivateHookSchema)
    @errors(404)
    def get(self):
        """The SMS-Activate-style hook: SMS-Activate's JSON body on each SMS"""
        return webhooks.sms_activate_hook(g.caller.user_id)

    @scope("keys")
    @blp.doc(operationId="setSmsActivateHook")
    @blp.arguments(SmsActivateHookSetSchema())
    @blp.response(200, SetSmsActivateHookSchema)
    @errors(422)
    def put(self, body):
        """Set its URL (the answer that creates it carries its secret)"""
        return _issued(webhooks.set_sms_activate_hook(g.caller.user_id, **body))

    @scope("keys")
    @blp.doc(operationId="deleteSmsActivateHook")
    @blp.response(204)
    @errors()
    def delete(self):
        """Remove it"""
        webhooks.delete_sms_activate_hook(g.caller.user_id)


@blp.route("/sms-activate/deliveries")
class SmsActivateHookDeliveries(MethodView):
    @scope("keys")
    @blp.doc(operationId="listSmsActivateHookDeliveries")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(PeeweePage)
    @errors(404)
    def get(self):
        """The SMS-Activate-style hook's delivery attempts, newest first"""
        return webhooks.sms_activate_attempts(g.caller.user_id)


@blp.route("/<webhook_id>")
class WebhookById(MethodView):
    @scope("keys")
    @blp.doc(operationId="getWebhook")
    @blp.response(200, WebhookSchema)
    @errors(404)
    def get(self, webhook_id):
        """One endpoint"""
        return webhooks.get(g.caller.user_id, webhook_id)

    @scope("keys")
    @blp.doc(operationId="updateWebhook")
    @blp.arguments(WebhookChangeSchema(), required=False)  # every field has a default: no body is fine
    @blp.response(200, WebhookSchema)
    @errors(404, 422)
    def patch(self, body, webhook_id):
        """Change its URL, event types or whether it is enabled; what is not sent stays"""
        return webhooks.change(g.caller.user_id, webhook_id, **body)

    @scope("keys")
    @blp.doc(operationId="deleteWebhook")
    @blp.response(204)
    @errors(404)
    def delete(self, webhook_id):
        """Delete it: nothing more is sent to it"""
        webhooks.delete(g.caller.user_id, webhook_id)


@blp.route("/<webhook_id>/rotate")
class RotateSecret(MethodView):
    @scope("keys")
    @blp.doc(operationId="rotateWebhookSecret")
    @blp.arguments(SecretRotateSchema(), required=False)
    @blp.response(200, IssuedWebhookSchema)
    @errors(404, 422)
    def post(self, body, webhook_id):
        """A new signing secret, shown in this answer only; the old one may sign too for a while"""
        grace = (body or {}).get("grace_period_seconds", 0)
        return _issued(webhooks.rotate_secret(g.caller.user_id, webhook_id, grace))


@blp.route("/<webhook_id>/replay")
class Replay(MethodView):
    @scope("keys")
    @blp.doc(operationId="replayWebhook")
    @blp.arguments(ReplaySchema())
    @blp.response(202, ReplayAnswerSchema)
    @errors(404, 422)
    def post(self, body, webhook_id):
        """Send the events after a cursor, or from a time on, again (same webhook-id as before)"""
        return webhook_delivery.request_replay(g.caller.user_id, webhook_id, body["since"])


@blp.route("/<webhook_id>/deliveries")
class Deliveries(MethodView):
    @scope("keys")
    @blp.doc(operationId="listWebhookDeliveries")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(PeeweePage)
    @errors(404)
    def get(self, webhook_id):
        """Its delivery attempts, newest first: status, latency and the start of each answer"""
        return webhooks.attempts(g.caller.user_id, webhook_id)
