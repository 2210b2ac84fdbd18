"""Fewer indexes for a purchase to write. A purchase inserts an activation, a ledger entry and
events, and changes the activation's status twice; every index of a row written is written too,
and on PostgreSQL a status change writes each of the activation's indexes.

- Dropped: the activation's indexes on api_key_id, service_id, country_id, attempt_provider_id
  and (provider_id, status) - no query looks activations up by them (an account's history is
  read by user first; the poll cycle and the expiry pass use the open-activation indexes), and
  keys, services, countries and providers are never deleted. The ledger's single-column indexes
  on activation_id and rental_charge_id are prefixes of its unique (.., kind) indexes.
- Made partial (WHERE the column IS NOT NULL), as most rows have NULL there: the unique
  (user_id, idempotency_key) and (provider_id, provider_ref) of activations, reactivation_of_id,
  the ledger's unique (activation_id, kind) and (rental_charge_id, kind), the event's
  (rental_id, id). Uniqueness is unchanged: NULLs never conflicted under UNIQUE.
"""

DROPPED = (
    ('activation_api_key_id', 'activation', 'api_key_id'),
    ('activation_service_id', 'activation', 'service_id'),
    ('activation_country_id', 'activation', 'country_id'),
    ('activation_attempt_provider_id', 'activation', 'attempt_provider_id'),
    ('activation_provider_id_status', 'activation', 'provider_id, status'),
    ('ledgerentry_activation_id', 'ledger_entry', 'activation_id'),
    ('ledger_entry_rental_charge_id', 'ledger_entry', 'rental_charge_id'),
)
# (name before, name after, table, unique, columns, the column that is NULL on most rows)
PARTIAL = (
    ('activation_user_id_idempotency_key', 'activation_user_id_idempotency_key', 'activation', True,
     'user_id, idempotency_key', 'idempotency_key'),
    ('activation_provider_id_provider_ref', 'activation_provider_id_provider_ref', 'activation', True,
     'provider_id, provider_ref', 'provider_ref'),
    ('activation_reactivation_of_id', 'activation_reactivation_of_id', 'activation', False,
     'reactivation_of_id', 'reactivation_of_id'),
    ('ledgerentry_activation_id_kind', 'ledger_entry_activation_id_kind', 'ledger_entry', True,
     'activation_id, kind', 'activation_id'),
    ('ledger_entry_rental_charge_id_kind', 'ledger_entry_rental_charge_id_kind', 'ledger_entry', True,
     'rental_charge_id, kind', 'rental_charge_id'),
    ('event_rental_id_id', 'event_rental_id_id', 'event', False, 'rental_id, id', 'rental_id'),
)


def _create(db, name, table, unique, columns, where=None):
    kind = 'UNIQUE INDEX' if unique else 'INDEX'
    condition = f' WHERE {where} IS NOT NULL' if where else ''
    db.execute_sql(f'CREATE {kind} IF NOT EXISTS {name} ON {table} ({columns}){condition}')


def up(migrator, db):
    for name, _, _ in DROPPED:
        db.execute_sql(f'DROP INDEX IF EXISTS {name}')
    for before, after, table, unique, columns, column in PARTIAL:
        db.execute_sql(f'DROP INDEX IF EXISTS {before}')
        _create(db, after, table, unique, columns, column)


def down(migrator, db):
    for before, after, table, unique, columns, _ in PARTIAL:
        db.execute_sql(f'DROP INDEX IF EXISTS {after}')
        _create(db, before, table, unique, columns)
    for name, table, columns in DROPPED:
        _create(db, name, table, False, columns)
