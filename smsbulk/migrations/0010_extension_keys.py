"""A rental extension's charge keeps the Idempotency-Key it was paid under
(services/rental_extensions.py)."""

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column('rental_charge', 'idempotency_key', CharField(max_length=128, null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('rental_charge', 'idempotency_key'))
