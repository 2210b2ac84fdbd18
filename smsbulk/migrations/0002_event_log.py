"""The append-only event log (smsbulk/models/events.py)."""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Activation(Model):
        class Meta:
            database = db
            table_name = 'activation'

    class Event(Model):
        id = BigAutoField()
        created_at = DateTimeField()
        user = ForeignKeyField(User, on_delete='CASCADE', index=False)
        activation = ForeignKeyField(Activation, null=True, on_delete='CASCADE', index=False)
        type = CharField(max_length=48)
        payload = TextField(default='{}')
        class Meta:
            database = db
            table_name = 'event'
            indexes = ((('user', 'id'), False), (('activation', 'id'), False))
    db.create_tables([Event])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('event'))
