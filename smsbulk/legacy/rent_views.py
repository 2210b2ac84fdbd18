"""Rent actions (reference §4.4): every answer JSON, every error `{"status":"error","message":…}`."""

from __future__ import annotations

from flask import current_app

from ..auth import Caller
from ..services import rent_pricing
from . import params, protocol, protocol_rent
from .dispatch import action
from .params import Params

RENT = protocol.RENT_JSON


def _default_hours() -> int:
    return current_app.config["RENT_DEFAULT_HOURS"]


@action("getRentServicesAndCountries", error_shape=RENT, scope="read")
def get_rent_services_and_countries(p: Params, caller: Caller) -> protocol.Answer:
    hours = params.rent_hours(p, _default_hours())
    found = rent_pricing.legacy_catalogue(params.country(p), params.operator(p), hours)
    return protocol_rent.rent_catalogue(found.countries, found.operators, found.services)
