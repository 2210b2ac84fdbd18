import datetime

import peewee

from ..extensions import db


def utcnow() -> datetime.datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class BaseModel(peewee.Model):
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        database = db
        legacy_table_names = False


def index_where_set(*fields: peewee.Field, unique: bool = False, set_: peewee.Field | None = None) -> None:
    """An index of the rows whose `set_` (the first field by default) is not NULL. Where most
    rows have NULL there, the rows written without it (a purchase's) write no entry; a lookup
    by an equal value or an IN list implies IS NOT NULL, so both backends use it."""
    model, column = fields[0].model, set_ if set_ is not None else fields[0]
    model.add_index(model.index(*fields, unique=unique).where(column.is_null(False)))
