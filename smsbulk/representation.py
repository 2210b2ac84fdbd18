"""How an activation, a ledger entry and an API key are shown: one representation for the REST
answers and the event log's payloads (services/events.py), so the two cannot drift.

camelCase on the wire, snake_case in Python; money as strings with two decimals; times as UTC
with a Z.
"""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields

from .compiled import compiled_rows
from .models import RentalSms, Sms
from .models import activations as st
from .models import rentals as rt
from .models.users import KEY_STATES, SCOPES
from .services.catalog import iso_of

AMOUNT = {"type": "string", "format": "decimal", "example": "10.00"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def camelcase(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class Schema(ma.Schema):
    """camelCase on the wire, snake_case in Python; unknown input fields are an error; no
    control characters in any input string (a NUL cannot even reach PostgreSQL).

    A JSON body is typed as the OpenAPI document says: an integer field takes a JSON integer and
    a boolean field a JSON boolean (marshmallow alone takes "5", 2.6e-42 or 0 for them). Schemas of
    query parameters, which are all text, set `json_types = False`."""

    json_types = True

    class Meta:
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        field_obj.data_key = camelcase(field_obj.data_key or field_name)

    @ma.pre_load
    def refuse_control_characters_and_loose_types(self, data, **kwargs):
        if not hasattr(data, "items"):
            return data
        fields_by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        errors = {
            name: ["Control characters are not allowed"] for name in fields_by_key if _has_control(data.get(name))
        }
        if self.json_types:
            for name, field in fields_by_key.items():
                problem = _loose_type(field, data.get(name))
                if problem and name not in errors:
                    errors[name] = [problem]
        if errors:
            raise ma.ValidationError(errors)
        return data


def _loose_type(field: ma.fields.Field, value) -> str | None:
    if value is None:
        return None
    if isinstance(field, fields.Boolean) and not isinstance(value, bool):
        return "Not a valid boolean."
    if isinstance(field, fields.Integer) and (isinstance(value, bool) or not isinstance(value, int)):
        return "Not a valid integer."
    return None


def _has_control(value) -> bool:
    if isinstance(value, str):
        return CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


def Amount(**kwargs) -> fields.Decimal:  # noqa: N802 - reads like a field class
    """Money on the wire: a string with two decimals, never a JSON number."""
    metadata = {**AMOUNT, **kwargs.pop("metadata", {})}
    return fields.Decimal(places=2, as_string=True, metadata=metadata, **kwargs)


class UtcDateTime(fields.DateTime):
    """Times are stored as naive UTC; on the wire they say so: 2026-01-31T12:00:00Z."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class TransactionSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["deposit", "purchase", "refund", "adjustment"]})
    amount = Amount(required=True)
    balance_after = Amount(required=True)
    activation_id = fields.Function(lambda e: e.activation.public_id if e.activation_id else None, allow_none=True)
    rental_id = fields.Function(
        lambda e: e.rental_charge.rental.public_id if e.rental_charge_id else None, allow_none=True
    )
    memo = fields.String()
    created_at = UtcDateTime(required=True)


class SmsSchema(Schema):
    text = fields.String(required=True)
    code = fields.String(allow_none=True)
    received_at = UtcDateTime(required=True)


_SMS_LIST = SmsSchema(many=True)


class Messages(fields.List):
    """An activation's messages, oldest first: documented as a list of Sms, read by messages_of()."""

    def __init__(self, **kwargs) -> None:
        super().__init__(fields.Nested(SmsSchema), **kwargs)

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return _SMS_LIST.dump(messages_of(obj))


class ActivationSchema(Schema):
    id = fields.String(attribute="public_id", required=True, metadata={"example": "act_5f0c8a1d2e3b4c5d6e7f8091"})
    legacy_id = fields.Integer(attribute="id", required=True, metadata={"description": "The legacy protocol's id"})
    phone_number = fields.String(allow_none=True, metadata={"example": "905551234567"})
    status = fields.String(required=True, metadata={"enum": list(st.STATUSES)})
    user_cost = Amount(required=True)
    service_code = fields.String(attribute="service_id", required=True)
    country_id = fields.Integer(attribute="country_id", required=True)
    country_iso = fields.Function(lambda a: iso_of(a.country_id), required=True)
    operator = fields.String()
    sms_code = fields.String(allow_none=True)
    sms = Messages(metadata={"description": "Every message received, oldest first"})
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(required=True)


class KeySchema(Schema):
    """An API key, never its secret nor the secret's hash; `usage_today`, `purchases_today`,
    `spent_today` and `last_used` are set by services/key_usage.py."""

    id = fields.String(attribute="public_id", required=True, metadata={"example": "key_3f9a0c1d2e4b5a6c"})
    name = fields.String(required=True, metadata={"example": "my bot"})
    prefix = fields.String(
        required=True, metadata={"description": "The secret's first characters", "example": "Ab3dE5gH"}
    )
    scopes = fields.List(fields.String(metadata={"enum": list(SCOPES)}), attribute="scope_list", required=True)
    state = fields.String(required=True, metadata={"enum": list(KEY_STATES)})
    daily_quota = fields.Integer(required=True, metadata={"description": "Requests per UTC day"})
    usage_today = fields.Integer(required=True, metadata={"description": "Requests counted today"})
    max_purchases_per_day = fields.Integer(allow_none=True, metadata={"description": "Guardrail; null: none"})
    max_spend_per_day = Amount(allow_none=True, metadata={**AMOUNT, "description": "Guardrail in USD; null: none"})
    purchases_today = fields.Integer(required=True)
    spent_today = Amount(required=True)
    allowed_ips = fields.List(
        fields.String(),
        attribute="ip_list",
        required=True,
        metadata={"description": "CIDRs the key is accepted from; empty: anywhere"},
    )
    expires_at = UtcDateTime(allow_none=True)
    previous_secret_expires_at = UtcDateTime(
        attribute="previous_expires_at",
        allow_none=True,
        metadata={"description": "After a rotation with a grace period: until when the old secret works"},
    )
    created_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(attribute="last_used", allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)


def messages_of(activation) -> list:
    """The messages an answer about this activation shows, oldest first: none on one that was
    refunded (a code that came after the end is never shown), those the caller already knows
    (known_messages), else a compiled SELECT (a status poll reads this)."""
    if activation.status in st.REFUNDED:
        return []
    known = getattr(activation, "known_messages", None)
    if known is not None:
        return known
    return compiled_rows(
        "messages-of",
        lambda: Sms.select(Sms.text, Sms.code, Sms.received_at).where(Sms.activation == activation.id).order_by(Sms.id),
        activation.id,
    )


class RentalSmsSchema(Schema):
    sender = fields.String(allow_none=True, metadata={"example": "WhatsApp"})
    service = fields.String(allow_none=True, metadata={"description": "The service it came from, where known"})
    text = fields.String(required=True)
    code = fields.String(allow_none=True)
    received_at = UtcDateTime(required=True)


_RENTAL_SMS_LIST = RentalSmsSchema(many=True)


class RentalSchema(Schema):
    id = fields.String(attribute="public_id", required=True, metadata={"example": "rnt_5f0c8a1d2e3b4c5d6e7f8091"})
    legacy_id = fields.Integer(attribute="id", required=True, metadata={"description": "The legacy protocol's id"})
    status = fields.String(required=True, metadata={"enum": list(rt.STATUSES)})
    active = fields.Function(lambda r: r.status in rt.ACTIVE, required=True, metadata={"description": "Receiving SMS"})
    service_code = fields.String(attribute="service_id", required=True, metadata={"example": "full"})
    country_id = fields.Integer(attribute="country_id", required=True)
    country_iso = fields.Function(lambda r: iso_of(r.country_id), required=True)
    operator = fields.String()
    phone_number = fields.String(allow_none=True, metadata={"example": "447700900123"})
    hours = fields.Integer(required=True, metadata={"description": "Hours paid for, extensions included"})
    user_cost = Amount(required=True, metadata={**AMOUNT, "description": "Paid in all, extensions included"})
    created_at = UtcDateTime(required=True)
    started_at = UtcDateTime(allow_none=True, metadata={"description": "When the number was rented"})
    ends_at = UtcDateTime(required=True, metadata={"description": "The end of the paid time"})
    cancelable_until = fields.Function(
        lambda r: _utc(r.started_at + rt.CANCEL_WINDOW) if r.status == rt.WAITING and r.started_at else None,
        allow_none=True,
        metadata={"description": "Until then, and before any SMS, a cancel is refunded in full"},
    )
    sms = fields.Method("messages_of", metadata={"description": "Every SMS, oldest first (in an event: its new ones)"})

    def messages_of(self, rental):
        return _RENTAL_SMS_LIST.dump(rental_messages(rental))


def _utc(moment) -> str:
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def rental_messages(rental) -> list:
    """The messages an answer about this rental shows, oldest first: those the caller already
    knows (known_messages: an event shows its new ones), else a compiled SELECT."""
    known = getattr(rental, "known_messages", None)
    if known is not None:
        return known
    return compiled_rows(
        "rental-messages-of",
        lambda: (
            RentalSms.select(RentalSms.sender, RentalSms.service, RentalSms.text, RentalSms.code, RentalSms.received_at)
            .where(RentalSms.rental == rental.id)
            .order_by(RentalSms.id)
        ),
        rental.id,
    )


_ACTIVATION = ActivationSchema()
_TRANSACTION = TransactionSchema()
_RENTAL = RentalSchema()
_KEY = KeySchema()


def activation(row) -> dict:
    """An activation as the REST API shows it."""
    return _ACTIVATION.dump(row)


def rental(row) -> dict:
    """A rental as the REST API shows it."""
    return _RENTAL.dump(row)


def ledger_entry(entry) -> dict:
    """A ledger entry as the REST API shows it."""
    return _TRANSACTION.dump(entry)


def key(row) -> dict:
    """An API key as the REST API shows it."""
    return _KEY.dump(row)
