"""Webhook endpoints: register, list, change, rotate their secret, delete; the SMS-Activate-style
hook of an account; replays and the log of attempts. For every face (REST now, the dashboard).

Sending is services/webhook_delivery.py. A new endpoint starts at the account's latest event:
it is sent what happens from then on, and a replay sends what came before. Re-enabling an
endpoint does the same (what happened while it was off is a replay away), so switching one back
on never floods it with days of backlog.
"""

from __future__ import annotations

import base64
import datetime
import secrets as random
from collections.abc import Iterable

from flask import current_app

from ..db import write_transaction
from ..errors import BadRequest, WebhookLimitReached, WebhookNotFound
from ..extensions import get_redis
from ..models import Event, Webhook, WebhookAttempt, WebhookMessage
from ..models import events as ev
from ..models import webhooks as wh
from ..models.base import utcnow
from . import events, urlguard

MAX_WEBHOOKS = 10
MAX_TYPES = 50
MAX_GRACE_SECONDS = 24 * 3600
SMS_TYPES = (ev.SMS_RECEIVED,)  # what the SMS-Activate-style hook is sent
# Ids of the accounts with an enabled endpoint: read after every commit (services/push.py) so the
# commits of other accounts cost no database read. Written after each change here, and rebuilt
# from the database by the webhook sweep.
ACCOUNTS_KEY = "webhooks:accounts"


def known_event_types() -> list[str]:
    """Every event type: the constants of models/events.py (each issue adds its own there)."""
    found = {value for name, value in vars(ev).items() if name.isupper() and isinstance(value, str) and "." in value}
    return sorted(found | {wh.WEBHOOK_DISABLED})


def validate_event_types(values: Iterable[str]) -> str:
    """The types an endpoint asks for, as stored: known types, or `prefix.*` for a whole family.
    ValueError says what is wrong (the REST schemas apply the same rule)."""
    if isinstance(values, str):
        values = values.split(",")
    chosen = list(dict.fromkeys(str(value).strip() for value in values if str(value).strip()))
    if len(chosen) > MAX_TYPES:
        raise ValueError(f"at most {MAX_TYPES} event types")
    known = known_event_types()
    families = {name.split(".", 1)[0] for name in known}
    for name in chosen:
        if name not in known and not (name.endswith(".*") and name[:-2] in families):
            raise ValueError(f"unknown event type {name[:64]!r}")
    return ",".join(chosen)


def check_event_types(values: Iterable[str]) -> str:
    try:
        return validate_event_types(values)
    except ValueError as exc:
        raise BadRequest(f"eventTypes: {exc}", field="eventTypes") from exc


def wants(webhook: Webhook, event_type: str) -> bool:
    """Whether an endpoint is sent events of this type (no types chosen: every type)."""
    if not webhook.event_types:
        return True
    for name in webhook.event_types.split(","):
        if name == event_type or (name.endswith(".*") and event_type.startswith(name[:-1])):
            return True
    return False


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()


def _check_url(url: str) -> str:
    return urlguard.check_registration(url, current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def _latest_event(user_id: int) -> int:
    return Event.select(Event.id).where(Event.user == user_id).order_by(Event.id.desc()).limit(1).scalar() or 0


def _owned(user_id: int, public_id: str, kind: str = wh.STANDARD) -> Webhook:
    found = Webhook.get_or_none(
        (Webhook.public_id == str(public_id)[:32]) & (Webhook.user == user_id) & (Webhook.kind == kind)
    )
    if found is None:
        raise WebhookNotFound(id=str(public_id)[:40])
    return found


def create(user_id: int, url: str, event_types: Iterable[str] = (), enabled: bool = True) -> tuple[Webhook, str]:
    """A new endpoint and its secret (shown to the caller once; it signs every delivery)."""
    url, types, secret = _check_url(url), check_event_types(event_types), new_secret()
    with write_transaction():
        events.lock_account(user_id)  # keeps the limit exact when creates race
        if Webhook.select().where((Webhook.user == user_id) & (Webhook.kind == wh.STANDARD)).count() >= MAX_WEBHOOKS:
            raise WebhookLimitReached(limit=MAX_WEBHOOKS)
        webhook = Webhook.create(
            public_id="wh_" + random.token_hex(12),
            user=user_id,
            url=url,
            event_types=types,
            enabled=bool(enabled),
            secret=secret,
            cursor=_latest_event(user_id),
        )
    refresh_accounts([user_id])
    return webhook, secret


def listing(user_id: int):
    return Webhook.select().where((Webhook.user == user_id) & (Webhook.kind == wh.STANDARD)).order_by(Webhook.id.desc())


def get(user_id: int, public_id: str) -> Webhook:
    return _owned(user_id, public_id)


def change(user_id: int, public_id: str, **settings) -> Webhook:
    """Change the URL, the event types or whether it is enabled; what is not given stays."""
    values = {}
    if "url" in settings:
        values["url"] = _check_url(settings["url"])
    if "event_types" in settings:
        values["event_types"] = check_event_types(settings["event_types"])
    with write_transaction():
        webhook = _owned(user_id, public_id)
        if "enabled" in settings:
            values.update(_switched(webhook, bool(settings["enabled"])))
        _update(webhook, values)
    refresh_accounts([user_id])
    return webhook


def _switched(webhook: Webhook, enabled: bool) -> dict:
    if enabled == webhook.enabled:
        return {}
    if not enabled:
        return {"enabled": False, "disabled_reason": "by the account"}
    # Back on: from the latest event, with a clean record (a replay sends what it missed).
    return {"enabled": True, "disabled_reason": None, "failing_since": None, "cursor": _latest_event(webhook.user_id)}


def _update(webhook: Webhook, values: dict) -> Webhook:
    if values:
        values["updated_at"] = utcnow()
        Webhook.update(values).where(Webhook.id == webhook.id).execute()
        for name, value in values.items():
            setattr(webhook, name, value)
    return webhook


def delete(user_id: int, public_id: str) -> None:
    """Delete an endpoint with its messages and attempts; nothing more is sent to it."""
    webhook = _owned(user_id, public_id)
    Webhook.delete().where(Webhook.id == webhook.id).execute()
    refresh_accounts([user_id])


def rotate_secret(user_id: int, public_id: str, grace_seconds: int = 0, kind: str = wh.STANDARD) -> tuple[Webhook, str]:
    """A new secret. For `grace_seconds` (at most a day) the old one signs too: each delivery then
    carries both signatures, so a receiver can switch over without missing one."""
    if (
        isinstance(grace_seconds, bool)
        or not isinstance(grace_seconds, int)
        or not 0 <= grace_seconds <= MAX_GRACE_SECONDS
    ):
        raise BadRequest(
            f"gracePeriodSeconds: a whole number from 0 to {MAX_GRACE_SECONDS}", field="gracePeriodSeconds"
        )
    secret = new_secret()
    with write_transaction():
        webhook = _owned(user_id, public_id, kind)
        until = utcnow() + datetime.timedelta(seconds=grace_seconds) if grace_seconds else None
        _update(
            webhook,
            {"secret": secret, "previous_secret": webhook.secret if until else None, "previous_secret_until": until},
        )
    return webhook, secret


def signing_secrets(webhook: Webhook, now: datetime.datetime | None = None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one in its grace."""
    now = now or utcnow()
    held = [webhook.secret]
    if webhook.previous_secret and webhook.previous_secret_until and webhook.previous_secret_until > now:
        held.append(webhook.previous_secret)
    return held


# The SMS-Activate-style hook: one per account, sent SMS-Activate's JSON body on each SMS.


def sms_activate_hook(user_id: int) -> Webhook:
    found = Webhook.get_or_none((Webhook.user == user_id) & (Webhook.kind == wh.SMS_ACTIVATE))
    if found is None:
        raise WebhookNotFound("No SMS-Activate webhook is set for this account")
    return found


def set_sms_activate_hook(user_id: int, url: str, enabled: bool = True) -> tuple[Webhook, str | None]:
    """Set the account's SMS-Activate-style hook URL; a new hook's secret comes back (once), a
    changed one keeps its secret (None)."""
    url, secret = _check_url(url), None
    with write_transaction():
        events.lock_account(user_id)  # one hook per account, however requests race
        hook = Webhook.get_or_none((Webhook.user == user_id) & (Webhook.kind == wh.SMS_ACTIVATE))
        if hook is not None:
            _update(hook, {"url": url, **_switched(hook, bool(enabled))})
        else:
            secret = new_secret()
            hook = Webhook.create(
                public_id="wh_" + random.token_hex(12),
                user=user_id,
                kind=wh.SMS_ACTIVATE,
                url=url,
                event_types=",".join(SMS_TYPES),
                enabled=bool(enabled),
                secret=secret,
                cursor=_latest_event(user_id),
            )
    refresh_accounts([user_id])
    return hook, secret


def delete_sms_activate_hook(user_id: int) -> None:
    Webhook.delete().where((Webhook.user == user_id) & (Webhook.kind == wh.SMS_ACTIVATE)).execute()
    refresh_accounts([user_id])


def attempts(user_id: int, public_id: str):
    """The endpoint's delivery attempts, newest first, each with its message and event."""
    return _attempts(_owned(user_id, public_id))


def sms_activate_attempts(user_id: int):
    """The SMS-Activate-style hook's delivery attempts, newest first (the same retry rules)."""
    return _attempts(sms_activate_hook(user_id))


def _attempts(webhook: Webhook):
    return (
        WebhookAttempt.select(WebhookAttempt, WebhookMessage, Event.id, Event.type)
        .join(WebhookMessage, on=WebhookAttempt.message == WebhookMessage.id)
        .join(Event, on=WebhookMessage.event == Event.id)
        .where(WebhookAttempt.webhook == webhook.id)
        .order_by(WebhookAttempt.id.desc())
    )


def refresh_accounts(user_ids: list[int] | None = None) -> None:
    """Bring the Redis set of accounts with endpoints in line with the database (these accounts,
    or all of them: the sweep)."""
    query = Webhook.select(Webhook.user).where(Webhook.enabled).distinct()
    if user_ids is not None:
        query = query.where(Webhook.user.in_(user_ids))
    having = {row.user_id for row in query}
    redis = get_redis()
    with redis.pipeline() as pipe:
        if user_ids is None:
            pipe.delete(ACCOUNTS_KEY)
        else:
            missing = set(user_ids) - having
            if missing:
                pipe.srem(ACCOUNTS_KEY, *missing)
        if having:
            pipe.sadd(ACCOUNTS_KEY, *having)
        pipe.execute()
