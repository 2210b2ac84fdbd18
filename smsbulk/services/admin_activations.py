"""Every account's activations, for the operator: filtered by status, service, country, account
email and provider, newest first, a page at a time."""

from __future__ import annotations

from peewee import JOIN

from ..errors import BadRequest
from ..models import Activation, Provider, User
from ..models import activations as st
from . import catalog, pages

STATUSES = st.STATUSES


def listing(
    status: str = "", service: str = "", country: str = "", email: str = "", provider: str = "", page: int = 1
) -> pages.Page:
    query = (
        Activation.select(Activation, User.id, User.email, Provider.id, Provider.name)
        .join(User)
        .switch(Activation)
        .join(Provider, join_type=JOIN.LEFT_OUTER, on=(Activation.provider == Provider.id))
        .order_by(Activation.id.desc())
    )
    status = str(status or "").strip().upper()
    if status:
        if status not in st.STATUSES:
            raise BadRequest(f"status: one of {', '.join(st.STATUSES)}", field="status")
        query = query.where(Activation.status == status)
    if service:
        query = query.where(Activation.service == catalog.resolve_service(service).code)
    if country:
        query = query.where(Activation.country == catalog.resolve_country(country).id)
    if str(email or "").strip():
        query = query.where(User.email.contains(str(email).strip().lower()[:254]))
    if str(provider or "").strip():
        query = query.where(Provider.name == str(provider).strip()[:64])
    return pages.paginate(query, page, count=False)  # the activation table grows with every purchase
