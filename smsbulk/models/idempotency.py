import peewee

from .base import BaseModel, utcnow
from .users import User


class IdempotentRequest(BaseModel):
    """A request made with an Idempotency-Key (REST) or an orderId (legacy), and its answer.

    The row is written before the request runs (its claim: the unique key makes a concurrent
    twin wait for it instead of running too) and gets the answer when it succeeds. `fingerprint`
    is a hash of what was asked, so the same key with another request is refused. Kept
    IDEMPOTENCY_KEY_HOURS from `created_at` (services/idempotency.py).
    """

    user = peewee.ForeignKeyField(User, on_delete="CASCADE", index=False)
    key = peewee.CharField(max_length=160)  # REST keys up to 128; legacy "legacy-order:" + up to 100
    fingerprint = peewee.CharField(max_length=64)
    response_status = peewee.IntegerField(null=True)  # NULL while the first request runs
    response_body = peewee.TextField(null=True)
    response_type = peewee.CharField(max_length=64, null=True)
    claimed_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "key"), True), (("created_at",), False))
