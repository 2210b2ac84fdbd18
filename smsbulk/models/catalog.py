import peewee

from ..money import MoneyField
from .base import BaseModel


class Country(BaseModel):
    id = peewee.IntegerField(primary_key=True)  # the canonical SMS-Activate id
    iso2 = peewee.CharField(max_length=2, index=True)
    name = peewee.CharField(max_length=80)
    slug = peewee.CharField(max_length=80, index=True)


class Service(BaseModel):
    code = peewee.CharField(max_length=16, primary_key=True)
    name = peewee.CharField(max_length=120)


class Provider(BaseModel):
    name = peewee.CharField(max_length=64, unique=True)
    kind = peewee.CharField(max_length=32)  # simulator | sms-activate | 5sim
    base_url = peewee.CharField(max_length=255, default="")
    api_key = peewee.CharField(max_length=255, default="")
    priority = peewee.IntegerField(default=100)  # lower is tried first
    markup = MoneyField(places=4, null=True)  # NULL = the DEFAULT_MARKUP setting
    enabled = peewee.BooleanField(default=True)


class Price(BaseModel):
    provider = peewee.ForeignKeyField(Provider, backref="prices", on_delete="CASCADE")
    service = peewee.ForeignKeyField(Service, on_delete="CASCADE")
    country = peewee.ForeignKeyField(Country, on_delete="CASCADE")
    operator = peewee.CharField(max_length=32, default="any")
    cost = MoneyField(places=4)  # what the provider charges us
    user_price = MoneyField()  # cost x markup, rounded once to cents; or the route's PriceOverride
    stock = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("provider", "service", "country", "operator"), True), (("service", "country"), False))
