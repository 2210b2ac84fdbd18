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
