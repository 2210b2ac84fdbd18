"""The REST layer's own Api, Schema and Page: the one seam where project conventions live."""

from __future__ import annotations

import re

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import (
    Blueprint,  # noqa: F401 - re-exported for the resource modules
    Page,
)
from marshmallow import fields

AMOUNT = {"type": "string", "format": "decimal", "example": "10.00"}


def camelcase(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class Schema(ma.Schema):
    """camelCase on the wire, snake_case in Python; unknown input fields are an error."""

    class Meta:
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        field_obj.data_key = camelcase(field_obj.data_key or field_name)


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


class ErrorSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    error = fields.String(required=True, metadata={"example": "insufficient_balance"})
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Validation errors by location and field"})


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        """HTTP errors (404, 405, 422 from webargs) in the one JSON error shape of the API."""
        data = getattr(error, "data", None) or {}
        payload = {"error": snake(error.name), "message": data.get("message", error.description)}
        if data.get("messages") or data.get("errors"):
            payload["error"] = "validation_error"
            payload["message"] = "The request has invalid fields"
            payload["errors"] = data.get("errors") or data.get("messages")
        return payload, error.code, data.get("headers", {})


class PeeweePage(Page):
    """Pages a Peewee query in SQL (LIMIT/OFFSET and COUNT), not by slicing every row in Python."""

    @property
    def items(self):
        return list(self.collection.paginate(self.page_params.page, self.page_params.page_size))

    @property
    def item_count(self):
        return self.collection.count()
