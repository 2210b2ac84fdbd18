"""Idempotent requests, as Stripe does them: a key names one request and its answer for a day.

The first request with a key claims it by inserting its row (unique per account) before it runs,
with a fingerprint of what it asks. Then:
- the same key with another request (another fingerprint) is refused: IdempotencyKeyReused;
- the same request again gets the stored answer of the first, once it succeeded (a replay);
- the same request while the first still runs waits for its answer, briefly (IdempotencyKeyInUse
  after that), so two concurrent twins buy once and both get the one answer.
An answer that is not a success is not stored: the claim is given back and a retry runs afresh
(an error left nothing behind to repeat). A claim whose process died is taken over after
STALE_CLAIM_SECONDS; what it bought is then found again through the key each purchase, rental
and rental extension's charge row also carries (services/purchases.py, rentals.py,
rental_extensions.py), never bought twice.

Keys are kept IDEMPOTENCY_KEY_HOURS from the first request: an older row counts as absent, and
the cron's purge deletes them and frees the key on the rows bought with it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from dataclasses import dataclass

import peewee
from flask import current_app

from ..errors import IdempotencyKeyInUse, IdempotencyKeyReused
from ..extensions import db
from ..models import Activation, IdempotentRequest, Rental, RentalCharge
from ..models.base import utcnow

CLAIM_WAIT_SECONDS = 10.0  # longer than a purchase waits for its number (PURCHASE_WAIT_SECONDS)
STALE_CLAIM_SECONDS = 60  # no request runs this long: its process died
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str


def fingerprint(*parts: object) -> str:
    """A hash of what a request asks (its parts as canonical JSON)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def begin(user_id: int, key: str, asked: str) -> Answer | None:
    """Claim the key for this request (None: run it), or the answer of the same earlier request."""
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while True:
        if _claim(user_id, key, asked):
            return None
        row = IdempotentRequest.get_or_none((IdempotentRequest.user == user_id) & (IdempotentRequest.key == key))
        if row is None:
            continue  # released or purged in between: claim again
        if row.created_at < _oldest_kept():
            _delete(row, "created_at", row.created_at)  # expired, not yet purged: the key is free
            continue
        if row.fingerprint != asked:
            raise IdempotencyKeyReused()
        if row.response_status is not None:
            return Answer(row.response_status, row.response_body or "", row.response_type or "")
        if row.claimed_at < utcnow() - datetime.timedelta(seconds=STALE_CLAIM_SECONDS) and _take_over(row):
            return None
        if time.monotonic() > deadline:
            raise IdempotencyKeyInUse()
        time.sleep(POLL_SECONDS)


def _claim(user_id: int, key: str, asked: str) -> bool:
    now = utcnow()
    try:
        with db.atomic():
            IdempotentRequest.insert(user=user_id, key=key, fingerprint=asked, created_at=now, claimed_at=now).execute()
    except peewee.IntegrityError:
        return False
    return True


def _take_over(row: IdempotentRequest) -> bool:
    """Compare-and-set on the claim's time: of two requests taking over, one wins."""
    taken = (
        IdempotentRequest.update(claimed_at=utcnow())
        .where(
            (IdempotentRequest.id == row.id)
            & (IdempotentRequest.claimed_at == row.claimed_at)
            & IdempotentRequest.response_status.is_null()
        )
        .execute()
    )
    return taken == 1


def _delete(row: IdempotentRequest, column: str, value) -> None:
    IdempotentRequest.delete().where(
        (IdempotentRequest.id == row.id) & (getattr(IdempotentRequest, column) == value)
    ).execute()


def succeeded(user_id: int, key: str, answer: Answer) -> None:
    """Store the answer a replay will give."""
    IdempotentRequest.update(
        response_status=answer.status, response_body=answer.body, response_type=answer.content_type
    ).where(
        (IdempotentRequest.user == user_id)
        & (IdempotentRequest.key == key)
        & IdempotentRequest.response_status.is_null()
    ).execute()


def failed(user_id: int, key: str) -> None:
    """Give the claim back: the request answered an error, a retry runs afresh."""
    IdempotentRequest.delete().where(
        (IdempotentRequest.user == user_id)
        & (IdempotentRequest.key == key)
        & IdempotentRequest.response_status.is_null()
    ).execute()


def _oldest_kept() -> datetime.datetime:
    return utcnow() - datetime.timedelta(hours=current_app.config["IDEMPOTENCY_KEY_HOURS"])


def purge() -> dict[str, int]:
    """Forget keys older than IDEMPOTENCY_KEY_HOURS, and free them on what was bought with them
    (the purchase services look a repeated key up there too)."""
    oldest = _oldest_kept()
    with db.atomic():
        forgotten = IdempotentRequest.delete().where(IdempotentRequest.created_at < oldest).execute()
        for model in (Activation, Rental, RentalCharge):
            model.update(idempotency_key=None).where(
                model.idempotency_key.is_null(False) & (model.created_at < oldest)
            ).execute()
    return {"idempotency_keys_forgotten": forgotten}
