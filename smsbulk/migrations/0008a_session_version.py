"""Dashboard sessions: a version per user, raised when the password changes, ends the other sessions."""

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column('user', 'session_version', IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('user', 'session_version'))
