"""Rental prices per provider, service, country, operator and length (smsbulk/models/rentals.py)."""

from peewee import *


def up(migrator, db):
    class Provider(Model):
        class Meta:
            database = db
            table_name = 'provider'

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

    class RentPrice(Model):
        created_at = DateTimeField()
        provider = ForeignKeyField(Provider, on_delete='CASCADE')
        service = ForeignKeyField(Service, on_delete='CASCADE')
        country = ForeignKeyField(Country, on_delete='CASCADE')
        operator = CharField(max_length=32, default='any')
        hours = IntegerField()
        cost = BigIntegerField()
        user_price = BigIntegerField()
        stock = IntegerField(default=0)
        any_hours = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'rent_price'
            indexes = ((('provider', 'service', 'country', 'operator', 'hours'), True), (('service', 'country'), False))
    db.create_tables([RentPrice])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('rent_price'))
