"""Rent actions (reference §4.4): every answer JSON, every error `{"status":"error","message":…}`."""

from __future__ import annotations

import functools

from flask import current_app

from ..auth import Caller
from ..errors import NoNumbers, NoRentals
from ..models import Rental
from ..models import rentals as rt
from ..services import rent_pricing, rental_extensions, rentals, subject_waits
from . import params, protocol, protocol_rent
from .dispatch import action
from .params import Params

RENT = protocol.RENT_JSON
# getRentStatus of a rental without SMS to show: its state, as the protocol's tokens (§4.4).
STATE_TOKEN = {
    rt.PENDING: "STATUS_WAIT_CODE",
    rt.WAITING: "STATUS_WAIT_CODE",
    rt.RECEIVED: "STATUS_WAIT_CODE",
    rt.FINISHED: "STATUS_FINISH",
    rt.EXPIRED: "STATUS_FINISH",
    rt.REVOKED: "STATUS_REVOKE",  # the number was taken back: the unused part was refunded
    rt.CANCELED: "STATUS_CANCEL",
    rt.FAILED: "STATUS_CANCEL",
    rt.WITHDRAWN: "STATUS_CANCEL",
}
SET_RENT_STATUS = {1: rentals.finish, 2: rentals.cancel}
MAX_SMS_PAGE = 100


def _default_hours() -> int:
    return current_app.config["RENT_DEFAULT_HOURS"]


@action("getRentServicesAndCountries", error_shape=RENT, scope="read")
def get_rent_services_and_countries(p: Params, caller: Caller) -> protocol.Answer:
    hours = params.rent_hours(p, _default_hours())
    found = rent_pricing.legacy_catalogue(params.country(p), params.operator(p), hours)
    return protocol_rent.rent_catalogue(found.countries, found.operators, found.services)


def _rented(rental: Rental, status: int = 200) -> protocol.Answer:
    return protocol_rent.rented(rental.id, rental.ends_at, rental.phone_number, status)


@action("getRentNumber", error_shape=RENT, scope="purchase")
def get_rent_number(p: Params, caller: Caller) -> protocol.Answer:
    order = rentals.RentOrder(
        service=params.service(p),
        country=params.country(p),
        hours=params.rent_hours(p, _default_hours()),
        operator=params.operator(p),
    )
    rental = rentals.rent_now(caller, order)
    if rental.status not in rt.ACTIVE:  # no number in time: withdrawn, or none to rent, refunded
        raise NoNumbers(status=rental.status)
    return _rented(rental, 201)


@action("getRentStatus", error_shape=RENT, scope="read")
def get_rent_status(p: Params, caller: Caller) -> protocol.Answer:
    """With the `wait` extension, an active rental's answer comes when its next SMS does."""
    answer = functools.partial(rent_status, p)
    return answer(subject_waits.rent_status_when_changed(caller.user_id, params.rental_id(p), params.wait(p), answer))


def rent_status(p: Params, found: tuple) -> protocol.Answer:
    rental, messages = found
    if rental.status not in rt.ACTIVE or not messages:
        return protocol_rent.state(STATE_TOKEN[rental.status])
    page = max(1, p.number("page", default=1, maximum=10**6))
    size = max(1, p.number("size", default=10, maximum=MAX_SMS_PAGE))
    shown = [
        protocol_rent.RentSms(m.sender or "", m.text, m.service or rental.service_id, m.received_at) for m in messages
    ]
    return protocol_rent.rent_sms(shown, page, size)


@action("setRentStatus", error_shape=RENT, scope="purchase")
def set_rent_status(p: Params, caller: Caller) -> protocol.Answer:
    rental_id = params.rental_id(p)
    SET_RENT_STATUS[params.rent_status_code(p)](caller.user_id, rental_id)
    return protocol_rent.success()


@action("getRentList", error_shape=RENT, scope="read")
def get_rent_list(p: Params, caller: Caller) -> protocol.Answer:
    limit = max(1, p.number("length", "limit", default=500, maximum=500))
    offset = (max(1, p.number("page", default=1, maximum=10**6)) - 1) * limit
    found = rentals.active_for_owner(caller.user_id, offset, limit)
    if not found:
        raise NoRentals()
    return protocol_rent.rent_list([(rental.id, rental.phone_number) for rental in found])


@action("continueRentNumber", error_shape=RENT, scope="purchase")
def continue_rent_number(p: Params, caller: Caller) -> protocol.Answer:
    rental_id = params.rental_id(p)
    return _rented(rental_extensions.extend(caller, rental_id, params.rent_hours(p, None)))


@action("getContinueRentPriceNumber", error_shape=RENT, scope="read")
def get_continue_rent_price(p: Params, caller: Caller) -> protocol.Answer:
    rental_id = params.rental_id(p)
    return protocol_rent.extension_price(
        rental_extensions.quote(caller.user_id, rental_id, params.rent_hours(p, None)).price
    )


@action("continueRentInfo", error_shape=RENT, scope="read")
def continue_rent_info(p: Params, caller: Caller) -> protocol.Answer:
    rental_id = params.rental_id(p)
    offer = rental_extensions.quote(caller.user_id, rental_id, params.rent_hours(p, None))
    history = [(c.created_at, c.amount, c.hours) for c in offer.paid] if p.flag("needHistory") else None
    return protocol_rent.extension_info(offer.price, offer.hours, history)
