import peewee

from .base import BaseModel, utcnow
from .events import Event
from .users import User

STANDARD = "standard"  # Standard Webhooks: every event type the endpoint asks for, signed
SMS_ACTIVATE = "sms-activate"  # SMS-Activate's body on each SMS, one per account (reference §5)
KINDS = (STANDARD, SMS_ACTIVATE)

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

WEBHOOK_DISABLED = "webhook.disabled"  # the event that says an endpoint was switched off


class Webhook(BaseModel):
    """An endpoint that is sent the account's events (services/webhooks.py).

    The secret signs every delivery, so it is kept as it is (a hash could not sign); after a
    rotation the previous one signs too until `previous_secret_until`. `cursor` is the last
    event id handed to delivery: what comes after it is still to be sent."""

    public_id = peewee.CharField(max_length=32, unique=True)
    user = peewee.ForeignKeyField(User, on_delete="CASCADE", index=False)
    kind = peewee.CharField(max_length=16, default=STANDARD)
    url = peewee.CharField(max_length=2048)
    event_types = peewee.TextField(default="")  # comma-separated types or `prefix.*`; empty: every type
    enabled = peewee.BooleanField(default=True)
    secret = peewee.CharField(max_length=80)
    previous_secret = peewee.CharField(max_length=80, null=True)
    previous_secret_until = peewee.DateTimeField(null=True)
    cursor = peewee.BigIntegerField(default=0)
    failing_since = peewee.DateTimeField(null=True)  # the first failure since the last success
    disabled_reason = peewee.CharField(max_length=64, null=True)
    replays = peewee.IntegerField(default=0)  # how many replays were asked for: the last one's number
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "kind"), False),)

    @property
    def type_list(self) -> list[str]:
        return [name for name in self.event_types.split(",") if name]


class WebhookMessage(BaseModel):
    """One event to send to one endpoint: sent once (replay 0), and again by each replay asked for.
    Its state, attempt count and next attempt are the truth the retries are driven from."""

    webhook = peewee.ForeignKeyField(Webhook, on_delete="CASCADE", index=False)
    event = peewee.ForeignKeyField(Event, on_delete="CASCADE", index=False)
    replay = peewee.IntegerField(default=0)
    state = peewee.CharField(max_length=16, default=PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("webhook", "event", "replay"), True),
            (("state", "next_attempt_at"), False),  # the sweep: pending messages whose attempt is overdue
        )


class WebhookAttempt(BaseModel):
    """One HTTP attempt at a message: what the endpoint answered, how fast, the first 1 KB of it."""

    webhook = peewee.ForeignKeyField(Webhook, on_delete="CASCADE", index=False)
    message = peewee.ForeignKeyField(WebhookMessage, on_delete="CASCADE", index=False)
    attempt = peewee.IntegerField()
    succeeded = peewee.BooleanField()
    status_code = peewee.IntegerField(null=True)
    latency_ms = peewee.IntegerField(default=0)
    response = peewee.TextField(default="")
    error = peewee.CharField(max_length=200, null=True)

    class Meta:
        indexes = ((("webhook", "id"), False), (("message", "id"), False))
