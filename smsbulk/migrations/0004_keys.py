"""Self-service keys: a public id, scopes, IP allowlists, expiry, rotation grace, last use.

Keys made before scopes existed were their account's only credential, able to do everything
the API offered: they get every scope, as `users create` and the demo key do now.
"""

import secrets

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('api_key', 'public_id', CharField(max_length=32, null=True)),
        migrator.add_column('api_key', 'previous_key_hash', CharField(max_length=64, null=True)),
        migrator.add_column('api_key', 'previous_expires_at', DateTimeField(null=True)),
        migrator.add_column('api_key', 'scopes', CharField(max_length=64, default='read purchase keys')),
        migrator.add_column('api_key', 'allowed_ips', TextField(default='')),
        migrator.add_column('api_key', 'expires_at', DateTimeField(null=True)),
        migrator.add_column('api_key', 'last_used_at', DateTimeField(null=True)),
    )
    for (key_id,) in db.execute_sql('SELECT id FROM api_key WHERE public_id IS NULL').fetchall():
        db.execute_sql(
            'UPDATE api_key SET public_id = %s WHERE id = %s' % (db.param, db.param),
            ('key_' + secrets.token_hex(8), key_id),
        )
    migrator.migrate(
        migrator.add_not_null('api_key', 'public_id'),
        migrator.add_index('api_key', ('public_id',), True),
        migrator.add_index('api_key', ('previous_key_hash',), True),
    )


def down(migrator, db):
    migrator.migrate(
        *(migrator.drop_column('api_key', column) for column in (
            'public_id', 'previous_key_hash', 'previous_expires_at', 'scopes', 'allowed_ips', 'expires_at',
            'last_used_at',
        ))
    )
