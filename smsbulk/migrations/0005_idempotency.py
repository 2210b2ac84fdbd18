"""Idempotent requests: the fingerprint and the answer of each Idempotency-Key and legacy orderId
(smsbulk/models/idempotency.py)."""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class IdempotentRequest(Model):
        created_at = DateTimeField()
        user = ForeignKeyField(User, on_delete='CASCADE', index=False)
        key = CharField(max_length=160)
        fingerprint = CharField(max_length=64)
        response_status = IntegerField(null=True)
        response_body = TextField(null=True)
        response_type = CharField(max_length=64, null=True)
        claimed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'idempotent_request'
            indexes = ((('user', 'key'), True), (('created_at',), False))

    db.create_tables([IdempotentRequest])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('idempotent_request'))
