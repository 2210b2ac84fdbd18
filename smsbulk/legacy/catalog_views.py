"""Account and catalogue actions (reference §4.1, §4.2)."""

from __future__ import annotations

from ..auth import Caller
from ..errors import OperatorsNotFound, UnknownCountry
from ..models import User
from ..services import catalog, rent_pricing, wallets
from . import params, protocol
from .dispatch import action
from .params import Params


@action("getBalance", "getBalanceAndCashBack", scope="read")  # no cashback here: both answer the balance
def get_balance(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.balance(wallets.balance_of(User(id=caller.user_id)))


@action("getNumbersStatus", scope="read")
def get_numbers_status(p: Params, caller: Caller) -> protocol.Answer:
    legacy_keys = caller.legacy_numbers_status_v1
    stock = catalog.stock_by_service(params.country(p), params.operator(p), every_service=legacy_keys)
    return protocol.numbers_status(stock, legacy_keys)


@action("getTopCountriesByService", "getTopCountriesByServiceRank", scope="read")  # no loyalty ranks: one price
def get_top_countries(p: Params, caller: Caller) -> protocol.Answer:
    service = params.service(p, required=False)
    offers = protocol.fold(catalog.best_prices(service=service).dicts())
    return protocol.top_countries(offers, service and service.code, p.flag("freePrice"))


@action("getOperators", error_shape=protocol.ACTIVATION_JSON, scope="read")
def get_operators(p: Params, caller: Caller) -> protocol.Answer:
    try:
        country = params.country(p, default=None)
    except UnknownCountry as error:
        raise OperatorsNotFound(**error.details) from error
    return protocol.operators(catalog.operators_by_country(country))


@action("getPrices", "getPricesExtended", scope="read")
def get_prices(p: Params, caller: Caller) -> protocol.Answer:
    service, country = params.service(p, required=False), params.country(p, default=None)
    return protocol.prices(protocol.fold(catalog.best_prices(service, country).dicts()))


@action("getPricesVerification", scope="read")
def get_prices_verification(p: Params, caller: Caller) -> protocol.Answer:
    service = params.service(p, required=False)
    return protocol.prices_verification(protocol.fold(catalog.best_prices(service=service).dicts()))


@action("getCountries", scope="read")
def get_countries(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.countries(*rent_pricing.countries_with_rentals())


@action("getServicesList", scope="read")
def get_services_list(p: Params, caller: Caller) -> protocol.Answer:
    return protocol.services_list(catalog.services_offered(params.country(p, default=None)))
