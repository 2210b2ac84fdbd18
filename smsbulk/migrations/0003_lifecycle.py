"""The lifecycle (smsbulk/models/activations.py): purchase attempts recorded on the row, owed
upstream actions, one activation per upstream number, and the indexes of expiry and recovery.

Provider refs already shared by several activations (the simulator's sequence could rewind when
its Redis lost its data) are kept on the oldest activation; the others get a suffix ("#dup<id>"),
so the UNIQUE (provider, provider_ref) constraint can be built.
"""

from peewee import *


def up(migrator, db):
    class Provider(Model):
        class Meta:
            database = db
            table_name = 'provider'

    migrator.migrate(
        migrator.rename_column('activation', 'claimed_at', 'attempt_started_at'),
        migrator.add_column(
            'activation', 'attempt_provider_id',
            ForeignKeyField(Provider, field=Provider.id, null=True, on_delete='SET NULL'),
        ),
        migrator.add_column('activation', 'attempt_ref', CharField(max_length=64, null=True)),
        migrator.add_column('activation', 'provider_action', CharField(max_length=16, null=True)),
    )
    db.execute_sql(
        "UPDATE activation SET provider_ref = provider_ref || '#dup' || CAST(id AS VARCHAR(12)) "
        "WHERE provider_ref IS NOT NULL AND id > (SELECT MIN(other.id) FROM activation AS other "
        "WHERE other.provider_id = activation.provider_id AND other.provider_ref = activation.provider_ref)"
    )
    db.execute_sql('DROP INDEX IF EXISTS activation_status')
    db.execute_sql('CREATE UNIQUE INDEX activation_provider_id_provider_ref ON activation (provider_id, provider_ref)')
    db.execute_sql('CREATE INDEX activation_status_expires_at ON activation (status, expires_at)')
    db.execute_sql(
        'CREATE INDEX activation_attempt_started_at ON activation (attempt_started_at) '
        'WHERE attempt_started_at IS NOT NULL'
    )
    db.execute_sql(
        'CREATE INDEX activation_provider_action ON activation (provider_action) WHERE provider_action IS NOT NULL'
    )


def down(migrator, db):
    for name in ('activation_provider_action', 'activation_attempt_started_at', 'activation_status_expires_at',
                 'activation_provider_id_provider_ref'):
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
    db.execute_sql('CREATE INDEX activation_status ON activation (status)')
    migrator.migrate(
        migrator.drop_column('activation', 'provider_action'),
        migrator.drop_column('activation', 'attempt_ref'),
        migrator.drop_column('activation', 'attempt_provider_id'),
        migrator.rename_column('activation', 'attempt_started_at', 'claimed_at'),
    )
