"""The activation table's index on provider_id alone goes: (provider_id, status) and
(provider_id, provider_ref) begin with it and serve what it served, and every status change
writes each of the table's indexes (a poll cycle moves a thousand rows at a time)."""


def up(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS activation_provider_id')


def down(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS activation_provider_id ON activation (provider_id)')
