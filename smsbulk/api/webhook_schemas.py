"""Schemas of the events API and of webhooks (their REST representation is also the payload of
the `webhook.disabled` event)."""

from __future__ import annotations

import datetime

import marshmallow as ma
from marshmallow import fields, validate

from ..services import event_feed, waits, webhooks
from ..services.keys import MAX_GRACE_SECONDS
from .base import Schema, UtcDateTime, service_rule

_WEBHOOK_ID = {"example": "wh_5f0c8a1d2e3b4c5d6e7f8091"}
_URL = {"example": "https://example.com/hooks/smsbulk"}


_TYPES = fields.List(
    fields.String(metadata={"example": "activation.sms_received"}),
    validate=service_rule(webhooks.validate_event_types),
    metadata={"description": "Event types, or `family.*` (e.g. `activation.*`); empty: every type"},
)
_WAIT = fields.Integer(
    load_default=0,
    validate=validate.Range(0, waits.MAX_WAIT_SECONDS),
    metadata={"description": "Seconds to wait for something new before answering (at most 30)"},
)


class EventSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "Also the cursor to read on from", "example": 42})
    type = fields.String(required=True, metadata={"example": "activation.sms_received"})
    timestamp = fields.String(required=True, metadata={"example": "2026-01-31T12:00:00Z"})
    data = fields.Dict(
        required=True, metadata={"description": "The activation, ledger entry, rental, key or webhook as REST shows it"}
    )


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    cursor = fields.Integer(required=True, metadata={"description": "Pass it as `after` to read on"})
    has_more = fields.Boolean(required=True, metadata={"description": "More events wait after this page"})


class EventQuerySchema(Schema):
    json_types = False  # query parameters: text

    after = fields.Integer(load_default=0, validate=validate.Range(0, 2**62), metadata={"description": "A cursor"})
    types = fields.String(
        validate=service_rule(webhooks.validate_event_types),
        metadata={"description": "Comma-separated event types or `family.*`", "example": "activation.*,ledger.entry"},
    )
    activation_id = fields.String(validate=validate.Length(1, 40), metadata={"example": "act_5f0c8a1d2e3b4c5d6e7f8091"})
    rental_id = fields.String(validate=validate.Length(1, 40), metadata={"example": "rnt_5f0c8a1d2e3b4c5d6e7f8091"})
    limit = fields.Integer(load_default=event_feed.DEFAULT_PAGE, validate=validate.Range(1, event_feed.MAX_PAGE))
    wait = _WAIT


class WaitSchema(Schema):
    """`wait` and `since` of a GET of one activation or rental."""

    json_types = False  # query parameters: text

    wait = _WAIT
    since = fields.String(
        validate=validate.Length(1, 64),
        metadata={"description": "The ETag of the answer last seen (as If-None-Match also says it)"},
    )


class WebhookSchema(Schema):
    id = fields.String(attribute="public_id", required=True, metadata=_WEBHOOK_ID)
    url = fields.String(required=True, metadata=_URL)
    event_types = fields.List(fields.String(), attribute="type_list", required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, metadata={"example": "failing for 5 days"})
    failing_since = UtcDateTime(allow_none=True, metadata={"description": "The first failure since the last success"})
    previous_secret_expires_at = UtcDateTime(
        attribute="previous_secret_until",
        allow_none=True,
        metadata={"description": "After a rotation with a grace period: until when the old secret signs too"},
    )
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class IssuedWebhookSchema(WebhookSchema):
    secret = fields.String(
        attribute="shown_secret",
        required=True,
        metadata={"description": "The signing secret (whsec_...): shown in this answer only"},
    )


class WebhookCreateSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    url = fields.String(required=True, validate=validate.Length(1, 2048), metadata=_URL)
    event_types = _TYPES
    enabled = fields.Boolean(load_default=True)


class WebhookChangeSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    url = fields.String(validate=validate.Length(1, 2048), metadata=_URL)
    event_types = _TYPES
    enabled = fields.Boolean()


class SecretRotateSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    grace_period_seconds = fields.Integer(
        validate=validate.Range(0, MAX_GRACE_SECONDS),
        load_default=0,
        metadata={"description": "How long the old secret keeps signing too (0: not at all; at most 86400)"},
    )


class CursorOrTime(fields.Field):
    """An event cursor (a whole number) or a time (ISO 8601)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ma.ValidationError("A cursor is 0 or more")
            return value
        if isinstance(value, str):
            if value.isdigit():
                return int(value)
            try:
                moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
        raise ma.ValidationError("A cursor (a whole number) or a time such as 2026-01-31T12:00:00Z")


class ReplaySchema(Schema):
    class Meta:
        unknown = ma.RAISE

    since = CursorOrTime(
        required=True,
        metadata={
            "description": "Send again the events after this cursor, or from this time on",
            "example": 0,
            "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "format": "date-time"}],
        },
    )


class ReplayAnswerSchema(Schema):
    replay = fields.Integer(required=True, metadata={"description": "This replay's number for the endpoint"})
    after = fields.Integer(required=True, metadata={"description": "Events after this cursor ..."})
    upto = fields.Integer(required=True, metadata={"description": "... up to this one are sent again"})


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Function(lambda a: a.message.event_id, required=True)
    event_type = fields.Function(lambda a: a.message.event.type, required=True)
    webhook_id = fields.Function(lambda a: f"evt_{a.message.event_id}", metadata={"description": "Its webhook-id"})
    replay = fields.Function(lambda a: a.message.replay, metadata={"description": "0: the first sending"})
    attempt = fields.Integer(required=True, metadata={"description": "1 to 8"})
    succeeded = fields.Boolean(required=True)
    status_code = fields.Integer(allow_none=True, metadata={"description": "The endpoint's HTTP status"})
    latency_ms = fields.Integer(required=True)
    response = fields.String(required=True, metadata={"description": "The first 1 KB of the endpoint's answer"})
    error = fields.String(allow_none=True, metadata={"example": "timeout: ReadTimeoutError"})
    message_state = fields.Function(lambda a: a.message.state, metadata={"enum": ["pending", "delivered", "failed"]})
    next_attempt_at = fields.Function(
        lambda a: event_feed.timestamp(a.message.next_attempt_at) if a.message.next_attempt_at else None,
        metadata={"description": "When the message is tried again, if it will be"},
    )
    created_at = UtcDateTime(required=True)


class SmsActivateHookSchema(Schema):
    url = fields.String(required=True, metadata=_URL)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    failing_since = UtcDateTime(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class SetSmsActivateHookSchema(SmsActivateHookSchema):
    secret = fields.String(
        attribute="shown_secret",
        metadata={"description": "Signs its deliveries (checking is optional): in the answer that created it only"},
    )


class SmsActivateHookSetSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    url = fields.String(required=True, validate=validate.Length(1, 2048), metadata=_URL)
    enabled = fields.Boolean(load_default=True)
