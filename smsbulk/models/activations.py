import peewee

from ..money import MoneyField
from .base import BaseModel, utcnow
from .catalog import Country, Provider, Service
from .users import ApiKey, User

PENDING = "PENDING"
WAITING = "WAITING"
RECEIVED = "RECEIVED"
RETRY = "RETRY"
COMPLETED = "COMPLETED"
CANCELED = "CANCELED"
EXPIRED = "EXPIRED"
FAILED = "FAILED"

STATUSES = (PENDING, WAITING, RECEIVED, RETRY, COMPLETED, CANCELED, EXPIRED, FAILED)
OPEN = (WAITING, RECEIVED, RETRY)  # a number is held upstream
TERMINAL = (COMPLETED, CANCELED, EXPIRED, FAILED)
REFUNDED = (CANCELED, EXPIRED, FAILED)


class Activation(BaseModel):
    # The integer primary key is the legacy id (below 2^31); public_id is the opaque REST id.
    public_id = peewee.CharField(max_length=32, unique=True)
    user = peewee.ForeignKeyField(User, backref="activations", on_delete="CASCADE")
    api_key = peewee.ForeignKeyField(ApiKey, null=True, on_delete="SET NULL")
    service = peewee.ForeignKeyField(Service)
    country = peewee.ForeignKeyField(Country)
    operator = peewee.CharField(max_length=32, default="any")
    status = peewee.CharField(max_length=16, default=PENDING, index=True)
    user_cost = MoneyField()
    max_price = MoneyField(null=True)
    provider = peewee.ForeignKeyField(Provider, null=True, on_delete="SET NULL")
    provider_ref = peewee.CharField(max_length=64, null=True)
    provider_cost = MoneyField(places=4, null=True)
    phone_number = peewee.CharField(max_length=20, null=True)
    sms_code = peewee.CharField(max_length=32, null=True)
    idempotency_key = peewee.CharField(max_length=128, null=True)
    claimed_at = peewee.DateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    updated_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()

    class Meta:
        indexes = (
            (("user", "idempotency_key"), True),
            (("user", "status"), False),
            (("provider", "status"), False),
        )


class Sms(BaseModel):
    activation = peewee.ForeignKeyField(Activation, backref="messages", on_delete="CASCADE")
    provider_message_id = peewee.CharField(max_length=64)
    text = peewee.TextField()
    code = peewee.CharField(max_length=32, null=True)
    received_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        # A message is recorded once however often a poll sees it.
        indexes = ((("activation", "provider_message_id"), True),)
