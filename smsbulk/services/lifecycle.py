"""Periodic work: poll providers for SMS, expire activations, re-drive stuck purchases."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict

from flask import current_app

from ..extensions import db
from ..models import Activation, Provider, Sms
from ..models import activations as st
from ..models.base import utcnow
from ..providers import base as pb
from ..queues import enqueue_provider_action, enqueue_purchase
from . import routing
from .activations import _move, close_with_refund

log = logging.getLogger(__name__)


def poll_once() -> dict[str, int]:
    """One upstream status call per provider for all its open activations."""
    open_rows = (
        Activation.select(Activation.id, Activation.provider, Activation.provider_ref, Activation.status)
        .where(Activation.status.in_(st.OPEN) & Activation.provider.is_null(False))
        .tuples()
    )
    by_provider: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    for activation_id, provider_id, ref, status in open_rows:
        by_provider[provider_id][ref] = (activation_id, status)
    counts = {"providers": 0, "messages": 0, "closed": 0}
    for provider in Provider.select().where(Provider.id.in_(list(by_provider))):
        refs = by_provider[provider.id]
        try:
            answers = routing.adapter_for(provider).statuses(list(refs))
        except pb.ProviderError as exc:
            log.warning("polling %s failed: %s", provider.name, type(exc).__name__)
            continue
        counts["providers"] += 1
        for ref, answer in answers.items():
            if ref in refs:
                new, closed = apply_status(refs[ref][0], answer)
                counts["messages"] += new
                counts["closed"] += closed
    return counts


def apply_status(activation_id: int, answer: pb.Status) -> tuple[int, int]:
    """Record new messages once and follow the upstream's final states; returns (new SMS, closed)."""
    new = record_messages(activation_id, answer.messages) if answer.messages else 0
    if answer.state == pb.CANCELED:
        # The upstream cancelled (and refunded us): refund here unless a code already came.
        if close_with_refund(activation_id, st.CANCELED, (st.WAITING,)):
            return new, 1
        return new, int(_move(activation_id, (st.RECEIVED, st.RETRY), status=st.COMPLETED))
    if answer.state == pb.FINISHED:
        return new, int(_move(activation_id, (st.RECEIVED, st.RETRY), status=st.COMPLETED))
    return new, 0


def record_messages(activation_id: int, messages: list[pb.Message]) -> int:
    """Insert unseen messages; a new one on a waiting activation makes it RECEIVED.

    A late code after a refund is recorded but changes nothing: no charge comes back.
    """
    seen = {m for (m,) in Sms.select(Sms.provider_message_id).where(Sms.activation == activation_id).tuples()}
    fresh = [m for m in messages if m.id not in seen]
    if not fresh:
        return 0
    with db.atomic():
        for message in fresh:
            Sms.insert(
                activation=activation_id,
                provider_message_id=message.id,
                text=message.text,
                code=message.code,
                received_at=message.received_at,
            ).on_conflict_ignore().execute()
        latest = max(fresh, key=lambda m: m.received_at)
        if latest.code:
            _move(activation_id, (st.WAITING, st.RETRY), status=st.RECEIVED, sms_code=latest.code)
    return len(fresh)


def expire_due(now: datetime.datetime | None = None) -> dict[str, int]:
    """Lifetime over: refund what got no code, complete what did; each exactly once."""
    now = now or utcnow()
    due = Activation.select(Activation.id, Activation.status).where(
        Activation.status.in_(st.OPEN) & (Activation.expires_at <= now)
    )
    expired = completed = 0
    for row in due:
        if row.status == st.WAITING and close_with_refund(row.id, st.EXPIRED, (st.WAITING,)):
            expired += 1
            enqueue_provider_action(row.id, "cancel")
        elif _move(row.id, (st.RECEIVED, st.RETRY), status=st.COMPLETED):
            completed += 1
            enqueue_provider_action(row.id, "finish")
    return {"expired": expired, "completed": completed}


def sweep_stuck(now: datetime.datetime | None = None) -> dict[str, int]:
    """PENDING too long: never claimed -> enqueue again (same job id); claimed -> refund.

    A claimed purchase whose job died may have bought a number we never recorded; we do not
    buy again, we refund and log it for the operator.
    """
    now = now or utcnow()
    age = datetime.timedelta(seconds=current_app.config["STUCK_PURCHASE_SECONDS"])
    stuck = Activation.select().where((Activation.status == st.PENDING) & (Activation.created_at <= now - age))
    requeued = failed = 0
    for row in stuck:
        if row.claimed_at is None:
            enqueue_purchase(row.id)
            requeued += 1
        elif close_with_refund(row.id, st.FAILED, (st.PENDING,)):
            log.warning("purchase of activation %s stuck after claim; refunded, possible orphan", row.id)
            failed += 1
    return {"requeued": requeued, "failed": failed}


def provider_action(activation_id: int, action: str) -> str:
    """Tell the upstream about a cancel, finish or request for another code."""
    activation = Activation.get_or_none(Activation.id == activation_id)
    if activation is None or activation.provider_id is None:
        return "skipped"
    adapter = routing.adapter_for(activation.provider)
    method = {"cancel": adapter.cancel, "finish": adapter.finish, "another": adapter.request_another}[action]
    method(activation.provider_ref)  # a RetryableProviderError lets RQ retry the job
    return "done"
