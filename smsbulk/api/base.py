"""The REST layer's own Api, Blueprint, Schema, fields and Page: the one seam where project conventions live."""

from __future__ import annotations

import base64
import binascii
import json
import re
from copy import deepcopy
from functools import wraps

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import Page, abort
from flask_smorest.pagination import PaginationParameters
from flask_smorest.utils import unpack_tuple_response
from marshmallow import fields
from peewee import fn
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from .. import money
from ..errors import BadRequest, UnsupportedMediaType
from ..representation import AMOUNT, Amount, Schema, UtcDateTime, camelcase  # noqa: F401 - the API's conventions

MAX_JSON_DEPTH = 32  # a request body nested deeper than this is refused (the deepest we take is 2)
MAX_PAGE = 10_000  # 100 items a page: a million rows; a larger page would overflow OFFSET
PAGE_SIZE, MAX_PAGE_SIZE = 10, 100
PAGINATION_HEADER = {
    "description": (
        "Pagination metadata, as a JSON object in a string. By page number: total, total_pages, page, "
        "next_page, and next_cursor to read on by cursor. By cursor: page_size and next_cursor "
        "(null on the last page)"
    ),
    "schema": {
        "type": "string",
        "example": '{"total": 42, "total_pages": 5, "page": 1, "next_page": 2, "next_cursor": "YWN0aXZhdGlvbjo0Mg"}',
    },
}
MAX_CURSOR_LENGTH = 64
MAX_CURSOR_ID = 2**62  # a cursor naming a larger id is not one we made (and would overflow BIGINT)


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


class AmountInput(fields.Field):
    """An amount a user gives, by the one rule both API styles use (money.parse_amount)."""

    def __init__(self, **kwargs) -> None:
        metadata = {"type": "string", "pattern": money.AMOUNT_PATTERN, "example": "0.50", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return money.parse_amount(value)
        except money.AmountError as exc:
            raise ma.ValidationError(str(exc).capitalize()) from exc


class ErrorSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    error = fields.String(required=True, metadata={"example": "insufficient_balance"})
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Validation errors by location and field"})


class ArgumentsParser(FlaskParser):
    """webargs' parser, with JSON bodies that say they are JSON and are not nested too deep.

    Without the first rule a form-encoded purchase answered "serviceCode: Missing data", and a
    body nested 100,000 deep overflowed the parser's stack (a 500)."""

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not is_json_request(req):
            if body:
                raise UnsupportedMediaType()
            return core.missing
        try:
            document = core.parse_json(body)
        except RecursionError as exc:
            raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels") from exc
        if _depth(document) > MAX_JSON_DEPTH:
            raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
        return document


def _depth(document) -> int:
    """How deep arrays and objects nest (1 for a flat object), without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def encode_cursor(kind: str, row_id: int) -> str:
    """An opaque cursor: the listing's kind and the last id shown, base64url without padding."""
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).rstrip(b"=").decode()


class Cursor(fields.String):
    """An opaque cursor given back as it came: (kind, last id shown), or None for `cursor=` (the
    first page, without the COUNT a page number costs)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            return None
        if len(text) > MAX_CURSOR_LENGTH:
            raise ma.ValidationError(f"Longer than {MAX_CURSOR_LENGTH} characters: not a cursor")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            kind, _, number = raw.partition(":")
            if not kind.isalpha() or not number.isdigit() or int(number) > MAX_CURSOR_ID:
                raise ValueError(raw)
        except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError
            raise ma.ValidationError("Not a valid cursor: pass next_cursor of X-Pagination as it came") from exc
        return kind, int(number)


class PageParameters(ma.Schema):
    """smorest's pagination parameters, with the page number bounded, and an opaque cursor."""

    class Meta:
        unknown = ma.EXCLUDE

    page = fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=PAGE_SIZE, validate=ma.validate.Range(min=1, max=MAX_PAGE_SIZE))
    cursor = Cursor(
        metadata={
            "maxLength": MAX_CURSOR_LENGTH,
            "description": (
                "Read by cursor instead of page number: next_cursor of the last answer's X-Pagination, "
                "or empty for the first page. Every page then costs the same, however deep; no total "
                "is counted. When a cursor is given, `page` is ignored."
            ),
            "example": "YWN0aXZhdGlvbjo0Mg",
        },
    )

    @ma.post_load
    def make_paginator(self, data, **kwargs):
        params = PaginationParameters(data["page"], data["page_size"])
        params.by_cursor = "cursor" in data
        params.cursor = data.get("cursor")
        return params


_PAGE_PARAMETERS = PageParameters()


def service_rule(check):
    """A service's rule for a setting as a validator: one rule, whichever face applies it."""

    def validate(value):
        try:
            check(value)
        except (TypeError, ValueError) as exc:
            raise ma.ValidationError(str(exc)) from exc

    return validate


def _documentation_only(decorator):
    """A smorest decorator that only records documentation, without the call it wraps around the
    view: smorest's `doc` and `alt_response` each add a function call to every request (a status
    poll went through five of them); the recorded documentation is the same."""

    def apply(func):
        func._apidoc = decorator(func)._apidoc
        return func

    return apply


# The input rule of representation.Schema (no control characters), as the OpenAPI document says it.
NO_CONTROL_CHARACTERS = "^[^\u0000-\u001f\u007f]*$"


def _document_no_control_characters(schema: ma.Schema) -> None:
    """Every input string field of the schema says it takes no control characters (a generated
    request or client then sends none), unless it has a pattern of its own."""
    for field in schema.fields.values():
        field = field.inner if isinstance(field, fields.List) else field
        if isinstance(field, fields.String) and "pattern" not in field.metadata:
            field.metadata = {**field.metadata, "pattern": NO_CONTROL_CHARACTERS}


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = ArgumentsParser()
    PAGINATION_ARGUMENTS_PARSER = ArgumentsParser()

    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, ma.Schema):
            _document_no_control_characters(schema)
        return super().arguments(schema, *args, **kwargs)

    @staticmethod
    def doc(**kwargs):
        return _documentation_only(SmorestBlueprint.doc(**kwargs))

    def alt_response(self, status_code, **kwargs):
        return _documentation_only(super().alt_response(status_code, **kwargs))

    def paginate(self, pager: type[PeeweePage]):
        """smorest's post-pagination, with bounded page numbers (PageParameters), or by cursor
        (keyset): the view returns a Peewee query ordered by id, newest first."""

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                params = self.PAGINATION_ARGUMENTS_PARSER.parse(_PAGE_PARAMETERS, request, location="query")
                result, status, headers = unpack_tuple_response(current_app.ensure_sync(func)(*args, **kwargs))
                if params.by_cursor:
                    result, metadata = keyset_page(result, params.cursor, params.page_size)
                    result = pager.finish(result)
                else:
                    result = pager(result, page_params=params).items
                    metadata = self._make_pagination_metadata(params.page, params.page_size, params.item_count)
                    if len(result) == params.page_size and params.page * params.page_size < params.item_count:
                        metadata["next_cursor"] = encode_cursor(cursor_kind(result[-1]), result[-1].id)
                headers = dict(headers or {})
                headers[self.PAGINATION_HEADER_NAME] = json.dumps(metadata)
                return result, status, headers

            wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
            wrapper._apidoc["pagination"] = {
                "parameters": {"in": "query", "schema": PageParameters},
                "response": {422: "UNPROCESSABLE_ENTITY"},
            }
            return wrapper

        return decorator

    def _document_pagination_metadata(self, spec, resp_doc):
        """X-Pagination is a JSON object sent as a string: documented as the string it is."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        """HTTP errors (404, 405, 413, 422 from webargs) in the API's JSON error shape, or, on the
        legacy endpoint, as a protocol token."""
        if request.path.startswith("/stubs/"):
            from ..legacy import render_http_error

            return render_http_error(error)
        data = getattr(error, "data", None) or {}
        payload = {"error": snake(error.name), "message": data.get("message", error.description)}
        if data.get("messages") or data.get("errors"):
            payload["error"] = "validation_error"
            payload["message"] = "The request has invalid fields"
            payload["errors"] = data.get("errors") or data.get("messages")
        headers = dict(error.get_headers())  # a 405's Allow
        headers.pop("Content-Type", None)
        headers.update(data.get("headers") or {})
        return payload, error.code, headers


def cursor_kind(row) -> str:
    return type(row)._meta.table_name.replace("_", "")


def keyset_page(query, cursor: tuple[str, int] | None, size: int) -> tuple[list, dict]:
    """The page after the cursor of a query ordered by id, newest first: WHERE id < last shown,
    LIMIT size + 1 (the one more tells whether a next page exists). An index on (owner, id)
    makes page 1,000 cost what page 1 costs."""
    model = query.model
    kind = model._meta.table_name.replace("_", "")
    if cursor is not None:
        if cursor[0] != kind:
            abort(422, errors={"query": {"cursor": [f"Not a cursor of this list (it reads {kind} rows)"]}})
        query = query.where(model.id < cursor[1])
    rows = list(query.limit(size + 1))
    shown = rows[:size]
    more = len(rows) > size
    return shown, {"page_size": size, "next_cursor": encode_cursor(kind, shown[-1].id) if more else None}


class PeeweePage(Page):
    """Pages a Peewee query in SQL (LIMIT/OFFSET and COUNT), not by slicing every row in Python."""

    @staticmethod
    def finish(rows: list) -> list:
        """What a page's rows need before they are shown, read for that page only: the same by
        page number and by cursor."""
        return rows

    @property
    def items(self):
        return self.finish(list(self.collection.paginate(self.page_params.page, self.page_params.page_size)))

    @property
    def item_count(self):
        """The total, counted on the listed table alone: a join that only adds columns (the
        ledger's activation ids) would be counted through too (0.2 s for 190,000 entries)."""
        query = self.collection
        return query.model.select(fn.COUNT(query.model.id)).where(query._where).scalar()
