"""Request and response schemas of the REST API."""

from __future__ import annotations

import datetime

import marshmallow as ma
from marshmallow import fields, validate

from ..models import activations as st
from ..models.users import KEY_STATES, SCOPES
from ..representation import ActivationSchema, KeySchema, SmsSchema, TransactionSchema
from ..services import keys
from ..services.catalog import iso_of
from .base import AMOUNT, Amount, AmountInput, Schema, UtcDateTime, service_rule

__all__ = ["ActivationSchema", "SmsSchema", "TransactionSchema"]


class BalanceSchema(Schema):
    balance = Amount(required=True)
    currency = fields.String(required=True, metadata={"example": "USD"})


class ActivationCreateSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    service_code = fields.String(required=True, validate=validate.Length(1, 16), metadata={"example": "wa"})
    country_iso = fields.String(validate=validate.Length(2, 80), metadata={"example": "TR"})
    country_id = fields.Integer(validate=validate.Range(0, 100000), metadata={"example": 62})
    operator = fields.String(validate=validate.Length(1, 32), load_default="any")
    max_price = AmountInput(metadata={"description": "Highest price to pay"})

    @ma.validates_schema
    def one_country(self, data, **kwargs):
        if ("country_iso" in data) == ("country_id" in data):
            raise ma.ValidationError("Give exactly one of countryIso or countryId", "countryIso")


class ActivationQuerySchema(Schema):
    json_types = False  # query parameters: text

    status = fields.String(validate=validate.OneOf(st.STATUSES))


class CountrySchema(Schema):
    id = fields.Integer(required=True, metadata={"example": 62})
    iso = fields.String(attribute="iso2", required=True, metadata={"example": "TR"})
    name = fields.String(required=True)
    slug = fields.String(required=True)


class ServiceSchema(Schema):
    code = fields.String(required=True, metadata={"example": "wa"})
    name = fields.String(required=True)


class PriceQuerySchema(Schema):
    json_types = False  # query parameters: text

    service_code = fields.String(validate=validate.Length(1, 16))
    country_iso = fields.String(validate=validate.Length(1, 80))
    country_id = fields.Integer(validate=validate.Range(0, 100000))


class PriceSchema(Schema):
    service_code = fields.String(attribute="service", required=True)
    country_id = fields.Integer(attribute="country", required=True)
    country_iso = fields.String(required=True)
    operator = fields.String(required=True)
    price = Amount(required=True, metadata={**AMOUNT, "description": "What a purchase costs now"})
    stock = fields.Integer(required=True)


class RentPriceQuerySchema(PriceQuerySchema):
    hours = fields.Integer(
        validate=validate.Range(1, 100000),
        metadata={"description": "Price this length; without it, every quoted length"},
    )


class RentPriceSchema(Schema):
    service_code = fields.String(attribute="service", required=True, metadata={"example": "full"})
    country_id = fields.Integer(required=True)
    country_iso = fields.Function(lambda offer: iso_of(offer.country_id), required=True)
    operator = fields.String(required=True)
    hours = fields.Integer(required=True, metadata={"example": 24})
    price = Amount(attribute="user_price", required=True, metadata={**AMOUNT, "description": "What a rental costs now"})
    stock = fields.Integer(required=True)


_SCOPE = fields.String(validate=validate.OneOf(SCOPES), metadata={"example": "read"})
_CIDR = fields.String(
    validate=service_rule(lambda cidr: keys.check_ips([cidr])), metadata={"example": "203.0.113.0/24"}
)


class IssuedKeySchema(KeySchema):
    secret = fields.String(
        required=True, metadata={"description": "The key itself: shown in this answer only, never again"}
    )


class CurrentKeySchema(KeySchema):
    remaining = fields.Integer(required=True)
    reset_at = UtcDateTime(required=True)


class KeyQuerySchema(Schema):
    json_types = False  # query parameters: text

    state = fields.String(validate=validate.OneOf(KEY_STATES))


class KeyChangeSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    name = fields.String(validate=service_rule(keys.check_name), metadata={"example": "my bot"})
    daily_quota = fields.Integer(validate=validate.Range(0, keys.MAX_QUOTA), metadata={"example": 10000})
    max_purchases_per_day = fields.Integer(allow_none=True, validate=validate.Range(0, keys.MAX_PURCHASES))
    max_spend_per_day = AmountInput(allow_none=True, metadata={"example": "5.00", "description": "null: no cap"})
    scopes = fields.List(_SCOPE, validate=validate.Length(min=1), metadata={"example": ["read", "purchase"]})
    allowed_ips = fields.List(_CIDR, validate=validate.Length(max=keys.MAX_ALLOWED_IPS))


class KeyCreateSchema(KeyChangeSchema):
    name = fields.String(validate=service_rule(keys.check_name), load_default="default", metadata={"example": "my bot"})
    scopes = fields.List(
        _SCOPE,
        validate=validate.Length(min=1),
        load_default=list(keys.DEFAULT_SCOPES),
        metadata={"example": ["read", "purchase"]},
    )
    expires_at = fields.AwareDateTime(
        default_timezone=datetime.UTC,
        validate=service_rule(keys.check_expiry),
        metadata={"example": "2030-01-31T12:00:00Z"},
    )


class RotateSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    grace_period_seconds = fields.Integer(
        validate=validate.Range(0, keys.MAX_GRACE_SECONDS),
        load_default=0,
        metadata={"description": "How long the old secret keeps working (0: not at all; at most 86400)"},
    )


class AccountSchema(Schema):
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["user", "admin"]})
    created_at = UtcDateTime(required=True)
    active_keys = fields.Integer(required=True)
    max_purchases_per_day = fields.Integer(allow_none=True)
    max_spend_per_day = Amount(allow_none=True)


class ReactivateSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    max_price = AmountInput(metadata={"description": "Highest price to pay"})


class ReactivationQuoteSchema(Schema):
    activation_id = fields.String(
        attribute="source.public_id", required=True, metadata={"description": "The completed one"}
    )
    phone_number = fields.String(attribute="source.phone_number", required=True)
    service_code = fields.String(attribute="source.service_id", required=True)
    country_id = fields.Integer(attribute="source.country_id", required=True)
    country_iso = fields.Function(lambda q: iso_of(q.source.country_id), required=True)
    price = Amount(required=True, metadata={**AMOUNT, "description": "What the new activation costs now"})
