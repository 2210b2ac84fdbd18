import peewee

from ..money import MoneyField
from .base import BaseModel, index_where_set, utcnow
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
WITHDRAWN = "WITHDRAWN"

STATUSES = (PENDING, WAITING, RECEIVED, RETRY, COMPLETED, CANCELED, EXPIRED, FAILED, WITHDRAWN)
OPEN = (WAITING, RECEIVED, RETRY)  # a number is held upstream
TERMINAL = (COMPLETED, CANCELED, EXPIRED, FAILED, WITHDRAWN)
REFUNDED = (CANCELED, EXPIRED, FAILED, WITHDRAWN)

# The lifecycle: target state -> the states it may be reached from. Every change of an
# activation's status is one compare-and-set along one of these edges, with one event
# (services/machine.py); nothing else writes the status.
TRANSITIONS = {
    WAITING: (PENDING,),  # the purchase job recorded a number
    RECEIVED: (WAITING, RETRY, RECEIVED),  # a code arrived (RECEIVED -> RECEIVED: one more)
    RETRY: (RECEIVED,),  # the owner asked for another code
    COMPLETED: (RECEIVED, RETRY),  # finished, by the owner, the upstream or the end of life
    CANCELED: (PENDING, WAITING),  # by the owner (or the upstream) before any code: refunded
    EXPIRED: (WAITING,),  # lifetime over without a code: refunded
    FAILED: (PENDING,),  # no number could be bought by the purchase deadline: refunded
    WITHDRAWN: (PENDING,),  # a legacy buyer was told NO_NUMBERS: never fulfilled, refunded
}


class Activation(BaseModel):
    # The integer primary key is the legacy id (below 2^31); public_id is the opaque REST id.
    public_id = peewee.CharField(max_length=32, unique=True)
    user = peewee.ForeignKeyField(User, backref="activations", on_delete="CASCADE", index=False)  # (user, id) below
    # No index on the key, service or country: no query looks activations up by them alone (an
    # account's history is read by user first), keys, services and countries are never deleted,
    # and each index costs every purchase three writes (its INSERT and two status changes).
    api_key = peewee.ForeignKeyField(ApiKey, null=True, on_delete="SET NULL", index=False)
    service = peewee.ForeignKeyField(Service, index=False)
    country = peewee.ForeignKeyField(Country, index=False)
    operator = peewee.CharField(max_length=32, default="any")
    status = peewee.CharField(max_length=16, default=PENDING)
    user_cost = MoneyField()
    max_price = MoneyField(null=True)
    # No index of its own: (provider, provider_ref) below begins with it, and every status change
    # writes each of the table's indexes.
    provider = peewee.ForeignKeyField(Provider, null=True, on_delete="SET NULL", index=False)
    provider_ref = peewee.CharField(max_length=64, null=True)
    provider_cost = MoneyField(places=4, null=True)
    phone_number = peewee.CharField(max_length=20, null=True)
    sms_code = peewee.CharField(max_length=32, null=True)
    idempotency_key = peewee.CharField(max_length=128, null=True)
    # The purchase attempt (the "pre" row of a call to a provider): set before the call, cleared
    # when its outcome is recorded. Non-NULL attempt_started_at = an upstream call whose result
    # is not known yet; if it stays so, the recovery pass asks the provider what it sold.
    attempts = peewee.IntegerField(default=0)
    attempt_started_at = peewee.DateTimeField(null=True)
    attempt_provider = peewee.ForeignKeyField(Provider, null=True, on_delete="SET NULL", backref="+", index=False)
    attempt_ref = peewee.CharField(max_length=64, null=True)  # the reference sent with the attempt
    # An upstream action (cancel, finish, another) owed since the last status change; cleared
    # when the provider took it. The recovery pass re-sends what stays owed.
    provider_action = peewee.CharField(max_length=16, null=True)
    updated_at = peewee.DateTimeField(default=utcnow)
    # PENDING: the purchase deadline; then the end of the number's lifetime.
    expires_at = peewee.DateTimeField()
    # A reactivation: the completed activation whose number this one bought again.
    reactivation_of = peewee.ForeignKeyField(
        "self", null=True, on_delete="SET NULL", backref="reactivations", index=False
    )  # a partial index below: a reactivation is rare

    class Meta:
        indexes = (
            # An account's activations newest first, all or of one status, a page at a time by
            # cursor (WHERE id < last shown): an index range scan however deep the page.
            (("user", "id"), False),
            (("user", "status", "id"), False),
            (("user", "created_at", "id"), False),  # legacy getHistory: a time window, newest first
            (("status", "expires_at"), False),  # the poll cycle, expiry and recovery
        )


# Partial indexes (see index_where_set): one idempotency key per account, one upstream number per
# activation, reactivations, attempts in flight and upstream actions owed.
index_where_set(Activation.user, Activation.idempotency_key, unique=True, set_=Activation.idempotency_key)
index_where_set(Activation.provider, Activation.provider_ref, unique=True, set_=Activation.provider_ref)
index_where_set(Activation.reactivation_of)
index_where_set(Activation.attempt_started_at)
index_where_set(Activation.provider_action)

# The open activations (a tenth of the table at most) by their end of life, for the expiry pass:
# with (status, expires_at) the planner, seeing most rows long expired, read every open one.
Activation.add_index(
    Activation.index(Activation.expires_at, name="activation_open_expires_at").where(Activation.status.in_(OPEN))
)
# An account's open activations (legacy getActiveActivations), oldest first: a few among many.
Activation.add_index(
    Activation.index(Activation.user, Activation.id, name="activation_open_user_id_id").where(
        Activation.status.in_(OPEN)
    )
)


class Sms(BaseModel):
    # Found by the unique (activation, provider_message_id) index below: no index of its own.
    activation = peewee.ForeignKeyField(Activation, backref="messages", on_delete="CASCADE", index=False)
    provider_message_id = peewee.CharField(max_length=64)
    text = peewee.TextField()
    code = peewee.CharField(max_length=32, null=True)
    received_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        # A message is recorded once however often a poll sees it.
        indexes = ((("activation", "provider_message_id"), True),)
