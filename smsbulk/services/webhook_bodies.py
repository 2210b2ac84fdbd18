"""What a webhook delivery carries: its body (per the endpoint's kind) and its signature headers.

Standard endpoints get the event as the events API shows it ({"id", "type", "timestamp",
"data"}), signed per the Standard Webhooks specification with the `standardwebhooks` package:
`webhook-id` (the event's: the same on every retry and replay, so a receiver can drop repeats),
`webhook-timestamp` (this attempt's time: receivers refuse stale ones) and `webhook-signature`
(`v1,<base64 HMAC-SHA256>`; two of them, space-separated, while a rotated secret is in its grace).

The SMS-Activate-style hook gets SMS-Activate's body on each SMS (reference §5):
{"activationId", "service", "text", "code", "country", "receivedAt"}. SMS-Activate signs
nothing; these carry the same signature headers anyway, which its receivers simply ignore.
"""

from __future__ import annotations

import datetime
import json
import time

from standardwebhooks import Webhook as Signer

from ..models import Event, Webhook
from ..models import webhooks as wh
from . import event_feed
from .webhooks import signing_secrets


def message_id(event_id: int) -> str:
    return f"evt_{event_id}"


def body_for(webhook: Webhook, event: Event) -> bytes | None:
    """The body this endpoint is sent for the event; None if its kind has nothing to say of it."""
    if webhook.kind == wh.SMS_ACTIVATE:
        return sms_activate_body(json.loads(event.payload or "{}"))
    return event_feed.document(event.id, event.type, event.created_at, event.payload).encode()


def sms_activate_body(activation: dict) -> bytes | None:
    """SMS-Activate's JSON for the newest message of an activation as the REST API shows it."""
    messages = activation.get("sms") or []
    if not messages or activation.get("legacyId") is None:
        return None
    sms = messages[-1]
    received = str(sms.get("receivedAt") or "").rstrip("Z").replace("T", " ")
    body = {
        "activationId": activation["legacyId"],
        "service": activation.get("serviceCode"),
        "text": sms.get("text"),
        "code": sms.get("code"),
        "country": activation.get("countryId"),
        "receivedAt": received,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(webhook: Webhook, event_id: int, body: bytes, now: float | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: id, timestamp and signature(s)."""
    moment = int(now if now is not None else time.time())
    msg_id = message_id(event_id)
    stamp = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    signatures = " ".join(Signer(secret).sign(msg_id, stamp, body) for secret in signing_secrets(webhook))
    return {"webhook-id": msg_id, "webhook-timestamp": str(moment), "webhook-signature": signatures}
