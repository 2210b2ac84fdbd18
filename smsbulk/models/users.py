import peewee

from ..money import MoneyField
from .base import BaseModel

ROLES = ("user", "admin")


class User(BaseModel):
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.CharField(max_length=255, default="")
    role = peewee.CharField(max_length=16, default="user")


class Wallet(BaseModel):
    user = peewee.ForeignKeyField(User, unique=True, backref="wallets", on_delete="CASCADE")
    # The CHECK is the backstop: no race, however it interleaves, can store a negative balance.
    balance = MoneyField(default=0, constraints=[peewee.Check("balance >= 0")])
    currency = peewee.CharField(max_length=3, default="USD")


class ApiKey(BaseModel):
    user = peewee.ForeignKeyField(User, backref="api_keys", on_delete="CASCADE")
    name = peewee.CharField(max_length=64, default="default")
    prefix = peewee.CharField(max_length=8, index=True)
    key_hash = peewee.CharField(max_length=64, unique=True)
    daily_quota = peewee.IntegerField(default=10000)
    # Guardrails a stolen key cannot exceed; NULL = no limit.
    max_purchases_per_day = peewee.IntegerField(null=True)
    max_spend_per_day = MoneyField(null=True)
    # getNumbersStatus in the older `<service>_0` form (see the legacy API).
    legacy_numbers_status_v1 = peewee.BooleanField(default=False)
    revoked_at = peewee.DateTimeField(null=True)


class KeyDailyUsage(BaseModel):
    """Purchases and spend per key per UTC day, counted inside the purchase transaction."""

    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    day = peewee.DateField()
    purchases = peewee.IntegerField(default=0)
    spent = MoneyField(default=0)

    class Meta:
        indexes = ((("key", "day"), True),)
