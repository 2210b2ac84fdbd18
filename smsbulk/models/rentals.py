import datetime

import peewee

from ..money import MoneyField
from .base import BaseModel, index_where_set, utcnow
from .catalog import Country, Provider, Service
from .users import ApiKey, User


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


# Rental states. A rental holds a number for the paid hours: WAITING until its first SMS, RECEIVED
# after (each further SMS moves RECEIVED -> RECEIVED). Active = WAITING or RECEIVED.
PENDING = "PENDING"  # paid, the number being rented upstream
WAITING = "WAITING"
RECEIVED = "RECEIVED"
FINISHED = "FINISHED"  # ended early by its owner: no refund
CANCELED = "CANCELED"  # within the cancel window and before any SMS: refunded in full
EXPIRED = "EXPIRED"  # its paid time ran out
REVOKED = "REVOKED"  # the provider took the number back: the unused part refunded pro rata
FAILED = "FAILED"  # no number could be rented: refunded in full
WITHDRAWN = "WITHDRAWN"  # a legacy buyer was told NO_NUMBERS before it was rented: refunded in full

STATUSES = (PENDING, WAITING, RECEIVED, FINISHED, CANCELED, EXPIRED, REVOKED, FAILED, WITHDRAWN)
# A rental cancelled this soon after its number was rented, before any SMS, is refunded in full
# (SMS-Activate's rule: CANT_CANCEL after 20 minutes).
CANCEL_WINDOW = datetime.timedelta(minutes=20)
ACTIVE = (WAITING, RECEIVED)
ENDED = (FINISHED, CANCELED, EXPIRED, REVOKED, FAILED, WITHDRAWN)

# target state -> the states it may be reached from: every change of a rental's status is one
# compare-and-set along one of these edges, with one event.
TRANSITIONS = {
    WAITING: (PENDING,),
    RECEIVED: (WAITING, RECEIVED),
    FINISHED: ACTIVE,
    CANCELED: (PENDING, WAITING),
    EXPIRED: ACTIVE,
    REVOKED: ACTIVE,
    FAILED: (PENDING,),
    WITHDRAWN: (PENDING,),
}


class Rental(BaseModel):
    # The integer primary key is the legacy id (below 2^31); public_id is the opaque REST id.
    public_id = peewee.CharField(max_length=32, unique=True)
    user = peewee.ForeignKeyField(User, backref="rentals", on_delete="CASCADE", index=False)  # (user, id) below
    api_key = peewee.ForeignKeyField(ApiKey, null=True, on_delete="SET NULL")
    service = peewee.ForeignKeyField(Service)  # `full`: every service's SMS
    country = peewee.ForeignKeyField(Country)
    operator = peewee.CharField(max_length=32, default="any")
    status = peewee.CharField(max_length=16, default=PENDING)
    hours = peewee.IntegerField()  # paid hours, extensions included
    user_cost = MoneyField()  # paid in all, extensions included
    max_price = MoneyField(null=True)
    provider = peewee.ForeignKeyField(Provider, null=True, on_delete="SET NULL")
    provider_ref = peewee.CharField(max_length=64, null=True)
    provider_cost = MoneyField(places=4, null=True)
    phone_number = peewee.CharField(max_length=20, null=True)
    idempotency_key = peewee.CharField(max_length=128, null=True)
    # The rental attempt (the "pre" row of a call to a provider): set before the call, cleared when
    # its outcome is recorded; an attempt that stays set is reconciled by the recovery pass.
    attempts = peewee.IntegerField(default=0)
    attempt_started_at = peewee.DateTimeField(null=True)
    attempt_provider = peewee.ForeignKeyField(Provider, null=True, on_delete="SET NULL", backref="+")
    provider_action = peewee.CharField(max_length=16, null=True)  # finish / cancel owed upstream
    updated_at = peewee.DateTimeField(default=utcnow)
    started_at = peewee.DateTimeField(null=True)  # the number was rented: the cancel window counts from here
    ends_at = peewee.DateTimeField()  # PENDING: the rental's deadline; then the end of the paid time

    class Meta:
        indexes = (
            (("user", "idempotency_key"), True),
            (("user", "id"), False),  # an account's rentals newest first, by page or by cursor
            (("user", "status", "id"), False),
            (("status", "ends_at"), False),  # the poll cycle, expiry and recovery
            (("provider", "provider_ref"), True),  # one upstream number, one rental
        )


# The recovery pass reads these every few seconds: partial indexes keep it off the whole table.
index_where_set(Rental.attempt_started_at)
index_where_set(Rental.provider_action)


class RentalCharge(BaseModel):
    """One payment for a rental: `seq` 0 is the rental itself, 1, 2, … its extensions. The ledger
    holds at most one debit and one refund per charge (UNIQUE(rental_charge, kind))."""

    rental = peewee.ForeignKeyField(Rental, backref="charges", on_delete="CASCADE")
    seq = peewee.IntegerField()
    hours = peewee.IntegerField()
    amount = MoneyField(constraints=[peewee.Check("amount > 0")])
    provider_cost = MoneyField(places=4, null=True)
    state = peewee.CharField(max_length=16, default="pending")  # pending -> paid, or refunded
    # The Idempotency-Key of the extension that made the charge: a request retried after its
    # process died finds the extension it paid for instead of paying again.
    idempotency_key = peewee.CharField(max_length=128, null=True)

    class Meta:
        indexes = ((("rental", "seq"), True),)


RentalCharge.add_index(RentalCharge.index(RentalCharge.created_at).where(RentalCharge.state == "pending"))


class RentalSms(BaseModel):
    rental = peewee.ForeignKeyField(Rental, backref="messages", on_delete="CASCADE")
    provider_message_id = peewee.CharField(max_length=64)
    sender = peewee.CharField(max_length=64, null=True)
    service = peewee.CharField(max_length=16, null=True)  # our code, where the upstream says
    text = peewee.TextField()
    code = peewee.CharField(max_length=32, null=True)
    received_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        # A message is recorded once however often a poll sees it.
        indexes = ((("rental", "provider_message_id"), True),)
