"""Partial indexes for the rentals' recovery pass: calls in flight, owed upstream actions, pending
extension charges (smsbulk/models/rentals.py)."""


def up(migrator, db):
    db.execute_sql(
        'CREATE INDEX rental_attempt_started_at ON rental (attempt_started_at) WHERE attempt_started_at IS NOT NULL'
    )
    db.execute_sql('CREATE INDEX rental_provider_action ON rental (provider_action) WHERE provider_action IS NOT NULL')
    db.execute_sql("CREATE INDEX rental_charge_created_at ON rental_charge (created_at) WHERE state = 'pending'")


def down(migrator, db):
    for name in ('rental_charge_created_at', 'rental_provider_action', 'rental_attempt_started_at'):
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
