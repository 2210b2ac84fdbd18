import peewee

from .activations import Activation
from .base import BaseModel, index_where_set
from .rentals import Rental
from .users import User

# What happened to an account, step by step. Activation types follow its lifecycle; the others
# record money and what the account (or an operator) did. Rentals, keys and webhooks add theirs.
ACTIVATION_CREATED = "activation.created"
NUMBER_ASSIGNED = "activation.number_assigned"
SMS_RECEIVED = "activation.sms_received"
ANOTHER_CODE_ASKED = "activation.another_code_asked"
COMPLETED = "activation.completed"
CANCELED = "activation.canceled"
EXPIRED = "activation.expired"
FAILED = "activation.failed"
WITHDRAWN = "activation.withdrawn"
REFUNDED = "activation.refunded"
LEDGER_ENTRY = "ledger.entry"
# API keys (services/keys.py): the payload is the key as the REST API shows it, never its secret.
KEY_CREATED = "key.created"
KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
KEY_CHANGED = "key.changed"
# A rental's lifecycle (models/rentals.py): every SMS it receives is an event of its own.
RENTAL_CREATED = "rental.created"
RENTAL_NUMBER_ASSIGNED = "rental.number_assigned"
RENTAL_SMS_RECEIVED = "rental.sms_received"
RENTAL_EXTENDED = "rental.extended"
RENTAL_FINISHED = "rental.finished"
RENTAL_CANCELED = "rental.canceled"
RENTAL_EXPIRED = "rental.expired"
RENTAL_REVOKED = "rental.revoked"
RENTAL_FAILED = "rental.failed"
RENTAL_WITHDRAWN = "rental.withdrawn"
RENTAL_REFUNDED = "rental.refunded"
# What an operator did (services/audit.py), in the operator's own log: the payload names the actor,
# the action and its target.
ADMIN_WALLET_ADJUSTED = "admin.wallet_adjusted"
ADMIN_PROVIDER_ADDED = "admin.provider_added"
ADMIN_PROVIDER_CHANGED = "admin.provider_changed"
ADMIN_PROVIDER_ENABLED = "admin.provider_enabled"
ADMIN_PROVIDER_DISABLED = "admin.provider_disabled"
ADMIN_PRICES_SYNCED = "admin.prices_synced"
ADMIN_PRICE_OVERRIDE_SET = "admin.price_override_set"
ADMIN_PRICE_OVERRIDE_REMOVED = "admin.price_override_removed"


class Event(BaseModel):
    """The append-only event log: the base of the events API, webhooks, waits and the audit trail.

    `id` grows with every row, and one account's rows are committed in id order (each writer
    holds the account's lock when it appends: services/events.py), so "the account's events
    after id N" read once never misses a row that commits later. That read is an index range
    scan on (user, id), as cheap at 10 million rows as at 10."""

    id = peewee.BigAutoField()
    user = peewee.ForeignKeyField(User, on_delete="CASCADE", index=False)
    activation = peewee.ForeignKeyField(Activation, null=True, on_delete="CASCADE", index=False)
    rental = peewee.ForeignKeyField(Rental, null=True, on_delete="CASCADE", index=False)
    type = peewee.CharField(max_length=48)
    payload = peewee.TextField(default="{}")  # JSON: what the REST API shows of the subject then

    class Meta:
        indexes = ((("user", "id"), False), (("activation", "id"), False))


# A rental's events: only they name one, so an activation's event is not written here.
index_where_set(Event.rental, Event.id)
