import peewee

from ..money import MoneyField
from .base import BaseModel, utcnow
from .catalog import Country, Service
from .ledger import LedgerEntry
from .users import User


class PriceOverride(BaseModel):
    """An operator's fixed user price for one route (a service in a country), whatever the markup.

    It is applied where user prices are set (services/catalog.py), so the catalogue, both API
    styles and the purchase quote all see it. It never sells at a loss: an offer that costs us
    more than the override keeps its markup price (services/price_overrides.py)."""

    service = peewee.ForeignKeyField(Service, on_delete="CASCADE")
    country = peewee.ForeignKeyField(Country, on_delete="CASCADE")
    price = MoneyField()
    set_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("service", "country"), True),)


class WalletAdjustment(BaseModel):
    """One operator's credit or debit of a wallet, keyed by the token of the form that asked for
    it: a form submitted twice finds its token taken and changes nothing the second time."""

    token = peewee.CharField(max_length=64, unique=True)
    actor = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    user = peewee.ForeignKeyField(User, on_delete="CASCADE", backref="adjustments")
    entry = peewee.ForeignKeyField(LedgerEntry, on_delete="CASCADE", backref="+")
