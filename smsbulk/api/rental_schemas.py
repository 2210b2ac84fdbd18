"""Request and response schemas of /api/v1/rentals."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..models import rentals as rt
from ..representation import AMOUNT, Amount, RentalSchema, Schema, UtcDateTime
from .base import AmountInput
from .schemas import ActivationCreateSchema

__all__ = ["RentalSchema"]

HOURS = {"description": "Hours to rent for (days as multiples of 24); bounds: RENT_MIN_HOURS to RENT_MAX_HOURS"}


class RentalSummarySchema(RentalSchema):
    """A rental in a list: without its SMS (get one rental for them)."""

    class Meta:
        exclude = ("sms",)


class RentalCreateSchema(ActivationCreateSchema):
    """serviceCode (`full` for every service's SMS), one of countryIso / countryId, hours,
    optional operator and maxPrice."""

    hours = fields.Integer(required=True, validate=validate.Range(1, 100000), metadata={**HOURS, "example": 24})


class RentalQuerySchema(Schema):
    json_types = False  # query parameters: text

    status = fields.String(validate=validate.OneOf(rt.STATUSES))


class ExtensionQuerySchema(Schema):
    json_types = False  # query parameters: text

    hours = fields.Integer(required=True, validate=validate.Range(1, 100000), metadata={**HOURS, "example": 4})


class ExtendSchema(Schema):
    class Meta:
        unknown = ma.RAISE

    hours = fields.Integer(required=True, validate=validate.Range(1, 100000), metadata={**HOURS, "example": 4})
    max_price = AmountInput(metadata={"description": "Highest price to pay"})


class ExtensionQuoteSchema(Schema):
    hours = fields.Integer(required=True)
    price = Amount(required=True, metadata={**AMOUNT, "description": "What extending by these hours costs now"})
    ends_at = UtcDateTime(required=True, metadata={"description": "The rental's end once extended"})
