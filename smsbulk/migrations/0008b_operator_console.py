"""The operator's console: per-route price overrides and wallet adjustments keyed by their form's
token (smsbulk/models/admin.py)."""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Service(Model):
        code = CharField(primary_key=True, max_length=16)
        class Meta:
            database = db
            table_name = 'service'

    class Country(Model):
        id = IntegerField(primary_key=True)
        class Meta:
            database = db
            table_name = 'country'

    class LedgerEntry(Model):
        class Meta:
            database = db
            table_name = 'ledger_entry'

    class PriceOverride(Model):
        created_at = DateTimeField()
        service = ForeignKeyField(Service, on_delete='CASCADE')
        country = ForeignKeyField(Country, on_delete='CASCADE')
        price = BigIntegerField()
        set_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'price_override'
            indexes = ((('service', 'country'), True),)

    class WalletAdjustment(Model):
        created_at = DateTimeField()
        token = CharField(max_length=64, unique=True)
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        user = ForeignKeyField(User, on_delete='CASCADE')
        entry = ForeignKeyField(LedgerEntry, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'wallet_adjustment'

    db.create_tables([PriceOverride, WalletAdjustment])


def down(migrator, db):
    for table in ('wallet_adjustment', 'price_override'):
        migrator.migrate(migrator.drop_table(table))
