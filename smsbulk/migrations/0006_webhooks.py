"""Webhook endpoints, the messages each is sent and every attempt (smsbulk/models/webhooks.py)."""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Event(Model):
        id = BigAutoField()
        class Meta:
            database = db
            table_name = 'event'

    class Webhook(Model):
        created_at = DateTimeField()
        public_id = CharField(max_length=32, unique=True)
        user = ForeignKeyField(User, on_delete='CASCADE', index=False)
        kind = CharField(max_length=16, default='standard')
        url = CharField(max_length=2048)
        event_types = TextField(default='')
        enabled = BooleanField(default=True)
        secret = CharField(max_length=80)
        previous_secret = CharField(max_length=80, null=True)
        previous_secret_until = DateTimeField(null=True)
        cursor = BigIntegerField(default=0)
        failing_since = DateTimeField(null=True)
        disabled_reason = CharField(max_length=64, null=True)
        replays = IntegerField(default=0)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'webhook'
            indexes = ((('user', 'kind'), False),)

    class WebhookMessage(Model):
        created_at = DateTimeField()
        webhook = ForeignKeyField(Webhook, on_delete='CASCADE', index=False)
        event = ForeignKeyField(Event, on_delete='CASCADE', index=False)
        replay = IntegerField(default=0)
        state = CharField(max_length=16, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'webhook_message'
            indexes = ((('webhook', 'event', 'replay'), True), (('state', 'next_attempt_at'), False))

    class WebhookAttempt(Model):
        created_at = DateTimeField()
        webhook = ForeignKeyField(Webhook, on_delete='CASCADE', index=False)
        message = ForeignKeyField(WebhookMessage, on_delete='CASCADE', index=False)
        attempt = IntegerField()
        succeeded = BooleanField()
        status_code = IntegerField(null=True)
        latency_ms = IntegerField(default=0)
        response = TextField(default='')
        error = CharField(max_length=200, null=True)
        class Meta:
            database = db
            table_name = 'webhook_attempt'
            indexes = ((('webhook', 'id'), False), (('message', 'id'), False))

    db.create_tables([Webhook, WebhookMessage, WebhookAttempt])


def down(migrator, db):
    for table in ('webhook_attempt', 'webhook_message', 'webhook'):
        migrator.migrate(migrator.drop_table(table))
