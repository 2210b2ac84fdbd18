"""Indexes for reading an account's history a page at a time, by cursor (WHERE id < last shown,
newest first): activations, rentals and ledger entries by (owner, id), and by (owner, status, id)
for a status filter; legacy getHistory's time window by (user, created_at, id); an account's open
activations (getActiveActivations) and the expiry pass's by partial indexes. Each (owner, ...) index replaces an index that is a prefix of it; the SMS table's index on
activation_id is a prefix of its unique (activation_id, provider_message_id) and goes."""

CREATED = (
    ('activation_user_id_id', 'activation', 'user_id, id'),
    ('activation_user_id_status_id', 'activation', 'user_id, status, id'),
    ('activation_user_id_created_at_id', 'activation', 'user_id, created_at, id'),
    ('activation_open_user_id_id', 'activation', "user_id, id) WHERE status IN ('WAITING', 'RECEIVED', 'RETRY'"),
    ('activation_open_expires_at', 'activation', "expires_at) WHERE status IN ('WAITING', 'RECEIVED', 'RETRY'"),
    ('rental_user_id_id', 'rental', 'user_id, id'),
    ('rental_user_id_status_id', 'rental', 'user_id, status, id'),
    ('ledger_entry_wallet_id_id', 'ledger_entry', 'wallet_id, id'),
)
REPLACED = (
    ('activation_user_id', 'activation', 'user_id'),
    ('activation_user_id_status', 'activation', 'user_id, status'),
    ('rental_user_id', 'rental', 'user_id'),
    ('rental_user_id_status', 'rental', 'user_id, status'),
    ('ledgerentry_wallet_id', 'ledger_entry', 'wallet_id'),
    ('sms_activation_id', 'sms', 'activation_id'),
)


def up(migrator, db):
    for name, table, columns in CREATED:
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})')
    for name, _, _ in REPLACED:
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')


def down(migrator, db):
    for name, table, columns in REPLACED:
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})')
    for name, _, _ in CREATED:
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
