import peewee

from ..money import MoneyField
from .base import BaseModel
from .catalog import Country, Provider, Service


class RentPrice(BaseModel):
    """What a provider asks for renting a number for `hours`, and our price for it.

    Providers that rent any whole number of hours (any_hours) are quoted for the lengths of the
    RENT_PRICE_HOURS setting and other lengths are priced from those (services/rent_pricing.py);
    the others rent exactly the lengths they quote."""

    provider = peewee.ForeignKeyField(Provider, on_delete="CASCADE")
    service = peewee.ForeignKeyField(Service, on_delete="CASCADE")  # `full`: the SMS of every service
    country = peewee.ForeignKeyField(Country, on_delete="CASCADE")
    operator = peewee.CharField(max_length=32, default="any")
    hours = peewee.IntegerField()
    cost = MoneyField(places=4)  # what the provider charges us for these hours
    user_price = MoneyField()  # cost x markup, rounded once to cents
    stock = peewee.IntegerField(default=0)
    any_hours = peewee.BooleanField(default=True)

    class Meta:
        indexes = (
            (("provider", "service", "country", "operator", "hours"), True),
            (("service", "country"), False),
        )
