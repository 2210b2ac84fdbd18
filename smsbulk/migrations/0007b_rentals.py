"""Rentals (smsbulk/models/rentals.py): the rental, its charges and its SMS; rental events and the
ledger rows of rental charges; the activation a reactivation bought its number from."""

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class ApiKey(Model):
        class Meta:
            database = db
            table_name = 'api_key'

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

    class Provider(Model):
        class Meta:
            database = db
            table_name = 'provider'

    class Activation(Model):
        class Meta:
            database = db
            table_name = 'activation'

    class Rental(Model):
        created_at = DateTimeField()
        public_id = CharField(unique=True, max_length=32)
        user = ForeignKeyField(User, on_delete='CASCADE')
        api_key = ForeignKeyField(ApiKey, null=True, on_delete='SET NULL')
        service = ForeignKeyField(Service)
        country = ForeignKeyField(Country)
        operator = CharField(max_length=32, default='any')
        status = CharField(max_length=16, default='PENDING')
        hours = IntegerField()
        user_cost = BigIntegerField()
        max_price = BigIntegerField(null=True)
        provider = ForeignKeyField(Provider, null=True, on_delete='SET NULL')
        provider_ref = CharField(null=True, max_length=64)
        provider_cost = BigIntegerField(null=True)
        phone_number = CharField(null=True, max_length=20)
        idempotency_key = CharField(null=True, max_length=128)
        attempts = IntegerField(default=0)
        attempt_started_at = DateTimeField(null=True)
        attempt_provider = ForeignKeyField(Provider, null=True, on_delete='SET NULL', backref='+')
        provider_action = CharField(null=True, max_length=16)
        updated_at = DateTimeField()
        started_at = DateTimeField(null=True)
        ends_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'rental'
            indexes = (
                (('user', 'idempotency_key'), True),
                (('user', 'status'), False),
                (('status', 'ends_at'), False),
                (('provider', 'provider_ref'), True),
            )

    class RentalCharge(Model):
        created_at = DateTimeField()
        rental = ForeignKeyField(Rental, on_delete='CASCADE')
        seq = IntegerField()
        hours = IntegerField()
        amount = BigIntegerField(constraints=[Check('amount > 0')])
        provider_cost = BigIntegerField(null=True)
        state = CharField(max_length=16, default='pending')
        class Meta:
            database = db
            table_name = 'rental_charge'
            indexes = ((('rental', 'seq'), True),)

    class RentalSms(Model):
        created_at = DateTimeField()
        rental = ForeignKeyField(Rental, on_delete='CASCADE')
        provider_message_id = CharField(max_length=64)
        sender = CharField(null=True, max_length=64)
        service = CharField(null=True, max_length=16)
        text = TextField()
        code = CharField(null=True, max_length=32)
        received_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'rental_sms'
            indexes = ((('rental', 'provider_message_id'), True),)

    db.create_tables([Rental, RentalCharge, RentalSms])
    migrator.migrate(
        migrator.add_column('event', 'rental_id', ForeignKeyField(Rental, field=Rental.id, null=True, on_delete='CASCADE', index=False)),
        migrator.add_column('ledger_entry', 'rental_charge_id', ForeignKeyField(RentalCharge, field=RentalCharge.id, null=True, on_delete='SET NULL')),
        migrator.add_column('activation', 'reactivation_of_id', ForeignKeyField(Activation, field=Activation.id, null=True, on_delete='SET NULL')),
    )
    db.execute_sql('CREATE INDEX event_rental_id_id ON event (rental_id, id)')
    db.execute_sql('CREATE UNIQUE INDEX ledger_entry_rental_charge_id_kind ON ledger_entry (rental_charge_id, kind)')


def down(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS ledger_entry_rental_charge_id_kind')
    db.execute_sql('DROP INDEX IF EXISTS event_rental_id_id')
    migrator.migrate(
        migrator.drop_column('activation', 'reactivation_of_id'),
        migrator.drop_column('ledger_entry', 'rental_charge_id'),
        migrator.drop_column('event', 'rental_id'),
        migrator.drop_table('rental_sms'),
        migrator.drop_table('rental_charge'),
        migrator.drop_table('rental'),
    )
