import peewee

from ..money import MoneyField
from .base import BaseModel, utcnow

ROLES = ("user", "admin")


class User(BaseModel):
    email = peewee.CharField(max_length=254, unique=True)
    password_hash = peewee.CharField(max_length=255, default="")
    role = peewee.CharField(max_length=16, default="user")
    # A dashboard session carries the version it was opened at: raising it (a password change)
    # ends every session opened before.
    session_version = peewee.IntegerField(default=0)


class Wallet(BaseModel):
    user = peewee.ForeignKeyField(User, unique=True, backref="wallets", on_delete="CASCADE")
    # The CHECK is the backstop: no race, however it interleaves, can store a negative balance.
    balance = MoneyField(default=0, constraints=[peewee.Check("balance >= 0")])
    currency = peewee.CharField(max_length=3, default="USD")


SCOPES = ("read", "purchase", "keys")  # in this order wherever they are listed
KEY_STATES = ("active", "expired", "revoked")


class ApiKey(BaseModel):
    """An API key. Only a hash of the secret is stored; `public_id` names it in the APIs and
    stays the same when the secret is rotated (services/keys.py)."""

    user = peewee.ForeignKeyField(User, backref="api_keys", on_delete="CASCADE")
    public_id = peewee.CharField(max_length=32, unique=True)
    name = peewee.CharField(max_length=64, default="default")
    prefix = peewee.CharField(max_length=8, index=True)
    key_hash = peewee.CharField(max_length=64, unique=True)
    # After a rotation with a grace period, the old secret's hash works until then.
    previous_key_hash = peewee.CharField(max_length=64, null=True, unique=True)
    previous_expires_at = peewee.DateTimeField(null=True)
    scopes = peewee.CharField(max_length=64, default="read purchase")  # space-separated, of SCOPES
    allowed_ips = peewee.TextField(default="")  # space-separated CIDRs; empty = from anywhere
    daily_quota = peewee.IntegerField(default=10000)
    # Guardrails a stolen key cannot exceed; NULL = no limit.
    max_purchases_per_day = peewee.IntegerField(null=True)
    max_spend_per_day = MoneyField(null=True)
    # getNumbersStatus in the older `<service>_0` form (see the legacy API).
    legacy_numbers_status_v1 = peewee.BooleanField(default=False)
    expires_at = peewee.DateTimeField(null=True)
    # Written from Redis once a minute (services/key_usage.py), never on a request.
    last_used_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)

    @property
    def scope_list(self) -> list[str]:
        held = self.scopes.split()
        return [scope for scope in SCOPES if scope in held]

    @property
    def ip_list(self) -> list[str]:
        return self.allowed_ips.split()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


class KeyDailyUsage(BaseModel):
    """Purchases and spend per key per UTC day, counted inside the purchase transaction."""

    key = peewee.ForeignKeyField(ApiKey, on_delete="CASCADE")
    day = peewee.DateField()
    purchases = peewee.IntegerField(default=0)
    spent = MoneyField(default=0)

    class Meta:
        indexes = ((("key", "day"), True),)
