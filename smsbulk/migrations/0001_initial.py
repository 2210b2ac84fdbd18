"""The initial schema: a frozen copy of the models (money is BIGINT cents or 1/10000ths)."""

from peewee import *


def up(migrator, db):
    class User(Model):
        created_at = DateTimeField()
        email = CharField(unique=True, max_length=254)
        password_hash = CharField(default='')
        role = CharField(max_length=16, default='user')
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class ApiKey(Model):
        created_at = DateTimeField()
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=64, default='default')
        prefix = CharField(index=True, max_length=8)
        key_hash = CharField(unique=True, max_length=64)
        daily_quota = IntegerField(default=10000)
        max_purchases_per_day = IntegerField(null=True)
        max_spend_per_day = BigIntegerField(null=True)
        legacy_numbers_status_v1 = BooleanField(default=False)
        revoked_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'api_key'
    db.create_tables([ApiKey])

    class Service(Model):
        code = CharField(primary_key=True, max_length=16)
        created_at = DateTimeField()
        name = CharField(max_length=120)
        class Meta:
            database = db
            table_name = 'service'
    db.create_tables([Service])

    class Country(Model):
        id = IntegerField(primary_key=True)
        created_at = DateTimeField()
        iso2 = CharField(index=True, max_length=2)
        name = CharField(max_length=80)
        slug = CharField(index=True, max_length=80)
        class Meta:
            database = db
            table_name = 'country'
    db.create_tables([Country])

    class Provider(Model):
        created_at = DateTimeField()
        name = CharField(unique=True, max_length=64)
        kind = CharField(max_length=32)
        base_url = CharField(default='')
        api_key = CharField(default='')
        priority = IntegerField(default=100)
        markup = BigIntegerField(null=True)
        enabled = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'provider'
    db.create_tables([Provider])

    class Activation(Model):
        created_at = DateTimeField()
        public_id = CharField(unique=True, max_length=32)
        user = ForeignKeyField(User, on_delete='CASCADE')
        api_key = ForeignKeyField(ApiKey, null=True, on_delete='SET NULL')
        service = ForeignKeyField(Service)
        country = ForeignKeyField(Country)
        operator = CharField(max_length=32, default='any')
        status = CharField(index=True, max_length=16, default='PENDING')
        user_cost = BigIntegerField()
        max_price = BigIntegerField(null=True)
        provider = ForeignKeyField(Provider, null=True, on_delete='SET NULL')
        provider_ref = CharField(null=True, max_length=64)
        provider_cost = BigIntegerField(null=True)
        phone_number = CharField(null=True, max_length=20)
        sms_code = CharField(null=True, max_length=32)
        idempotency_key = CharField(null=True, max_length=128)
        claimed_at = DateTimeField(null=True)
        attempts = IntegerField(default=0)
        updated_at = DateTimeField()
        expires_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'activation'
            indexes = ((('user', 'idempotency_key'), True), (('user', 'status'), False), (('provider', 'status'), False))
    db.create_tables([Activation])

    class KeyDailyUsage(Model):
        created_at = DateTimeField()
        key = ForeignKeyField(ApiKey, on_delete='CASCADE')
        day = DateField()
        purchases = IntegerField(default=0)
        spent = BigIntegerField(default=0)
        class Meta:
            database = db
            table_name = 'key_daily_usage'
            indexes = ((('key', 'day'), True),)
    db.create_tables([KeyDailyUsage])

    class Wallet(Model):
        created_at = DateTimeField()
        user = ForeignKeyField(User, unique=True, on_delete='CASCADE')
        balance = BigIntegerField(default=0, constraints=[Check('balance >= 0')])
        currency = CharField(max_length=3, default='USD')
        class Meta:
            database = db
            table_name = 'wallet'
    db.create_tables([Wallet])

    class LedgerEntry(Model):
        created_at = DateTimeField()
        wallet = ForeignKeyField(Wallet, on_delete='CASCADE')
        kind = CharField(max_length=16)
        amount = BigIntegerField(constraints=[Check('amount <> 0')])
        balance_after = BigIntegerField()
        activation = ForeignKeyField(Activation, null=True, on_delete='SET NULL')
        memo = CharField(default='')
        class Meta:
            database = db
            table_name = 'ledger_entry'
            indexes = ((('activation', 'kind'), True),)
    db.create_tables([LedgerEntry])

    class Price(Model):
        created_at = DateTimeField()
        provider = ForeignKeyField(Provider, on_delete='CASCADE')
        service = ForeignKeyField(Service, on_delete='CASCADE')
        country = ForeignKeyField(Country, on_delete='CASCADE')
        operator = CharField(max_length=32, default='any')
        cost = BigIntegerField()
        user_price = BigIntegerField()
        stock = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'price'
            indexes = ((('provider', 'service', 'country', 'operator'), True), (('service', 'country'), False))
    db.create_tables([Price])

    class Sms(Model):
        created_at = DateTimeField()
        activation = ForeignKeyField(Activation, on_delete='CASCADE')
        provider_message_id = CharField(max_length=64)
        text = TextField()
        code = CharField(null=True, max_length=32)
        received_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'sms'
            indexes = ((('activation', 'provider_message_id'), True),)
    db.create_tables([Sms])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('sms'))
    migrator.migrate(migrator.drop_table('price'))
    migrator.migrate(migrator.drop_table('ledger_entry'))
    migrator.migrate(migrator.drop_table('wallet'))
    migrator.migrate(migrator.drop_table('key_daily_usage'))
    migrator.migrate(migrator.drop_table('activation'))
    migrator.migrate(migrator.drop_table('provider'))
    migrator.migrate(migrator.drop_table('country'))
    migrator.migrate(migrator.drop_table('service'))
    migrator.migrate(migrator.drop_table('api_key'))
    migrator.migrate(migrator.drop_table('user'))
