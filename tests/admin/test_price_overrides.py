import json
from decimal import Decimal

import pytest

from smsbulk.errors import BadRequest, NotFound, UnknownCountry, UnknownService
from smsbulk.extensions import db
from smsbulk.models import Event, Price
from smsbulk.services import events, price_overrides, providers
from tests.factories import assert_ledger_exact, balance

LEGACY = "/stubs/handler_api.php"


def rest_price(client, account):
    rows = client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json
    return {row["price"] for row in rows}


def legacy_price(client, account):
    answer = client.get(
        LEGACY, query_string={"api_key": account.key, "action": "getPrices", "service": "wa", "country": "62"}
    )
    return json.loads(answer.data, parse_float=Decimal)["62"]["wa"]["cost"]


def test_the_routes_show_the_price_a_buyer_pays_and_the_stock(app, make_user):
    with db.connection_context():
        page = price_overrides.routes(service="wa", country="TR")
    (route,) = page.rows
    assert (route.service, route.country_iso, route.price, route.stock) == ("wa", "TR", Decimal("0.23"), 500)
    assert route.cheapest_cost < route.price and route.override is None and route.offers == 1
    with db.connection_context():
        every = price_overrides.routes()
        assert every.total > 1000 and len(every.rows) == every.per_page
        assert price_overrides.routes(page=every.pages + 5).number == every.pages
        with pytest.raises(UnknownService):
            price_overrides.routes(service="nope")
        with pytest.raises(UnknownCountry):
            price_overrides.routes(country="ZZ")


def test_an_override_is_the_price_on_both_api_styles_and_what_a_purchase_charges(app, client, operator, make_user):
    account = make_user("5.00")
    assert rest_price(client, account) == {"0.23"} and legacy_price(client, account) == Decimal("0.23")
    with db.connection_context():
        price_overrides.set_override(operator, "wa", "TR", "0.40")
    assert rest_price(client, account) == {"0.40"} and legacy_price(client, account) == Decimal("0.40")
    rest = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert rest.status_code in (200, 201, 202) and rest.json["userCost"] == "0.40"
    legacy = client.get(
        LEGACY, query_string={"api_key": account.key, "action": "getNumber", "service": "wa", "country": "62"}
    )
    assert legacy.data.startswith(b"ACCESS_NUMBER:")
    assert balance(account) == Decimal("4.20")
    assert_ledger_exact(account)
    other = client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=RU", headers=account.headers).json
    assert [row["price"] for row in other] != ["0.40"]  # only the route it names


def test_an_override_survives_a_price_sync_and_removing_it_restores_the_markup_price(app, client, operator, make_user):
    account = make_user()
    with db.connection_context():
        price_overrides.set_override(operator, "wa", "TR", "0.30")
        providers.sync_prices("simulator")
        assert price_overrides.routes("wa", "TR").rows[0].price == Decimal("0.30")
        assert [o.price for o in price_overrides.overridden()] == [Decimal("0.30")]
        assert price_overrides.remove_override(operator, "wa", "TR") == 1
        with pytest.raises(NotFound):
            price_overrides.remove_override(operator, "wa", "TR")
    assert rest_price(client, account) == {"0.23"}
    with db.connection_context():
        trail = [events.payload_of(e) for e in Event.select().where(Event.user == operator.user_id).order_by(Event.id)]
    assert [(t["action"], t["target"]) for t in trail] == [
        ("price_override_set", "route wa/TR"),
        ("price_override_removed", "route wa/TR"),
    ]
    assert trail[0]["price"] == "0.30" and trail[0]["actor"] == operator.email


def test_setting_an_override_again_replaces_it(app, operator):
    with db.connection_context():
        price_overrides.set_override(operator, "wa", "TR", "0.30")
        price_overrides.set_override(operator, "wa", 62, "0.35")
        assert [(o.service_id, o.country_id, o.price) for o in price_overrides.overridden()] == [
            ("wa", 62, Decimal("0.35"))
        ]
        assert Price.get(Price.service == "wa", Price.country == 62).user_price == Decimal("0.35")


@pytest.mark.parametrize("price", ["0", "0.00", "-1", "abc", "0.123", "", "100000.01", "0.10"])
def test_an_override_below_cost_or_not_an_amount_is_refused_and_changes_nothing(app, operator, price):
    with db.connection_context():
        with pytest.raises(BadRequest) as refused:
            price_overrides.set_override(operator, "wa", "TR", price)  # 0.10 is below the cost of 0.184
        assert refused.value.details["field"] == "price"
        assert not price_overrides.overridden()
        assert Price.get(Price.service == "wa", Price.country == 62).user_price == Decimal("0.23")
        assert not Event.select().where(Event.user == operator.user_id).exists()


def test_an_offer_that_costs_more_than_the_override_keeps_its_markup_price(app, operator):
    with db.connection_context():
        price_overrides.set_override(operator, "wa", "TR", "0.20")
        simulator = Price.get(Price.service == "wa", Price.country == 62)
        providers.add("dear", "simulator", markup=Decimal("2"))
        providers.sync_prices("dear")
        dear = Price.get(Price.service == "wa", Price.country == 62, Price.provider == providers.get("dear"))
    assert simulator.user_price == Decimal("0.20")
    assert dear.cost == simulator.cost and dear.user_price == Decimal("0.20")  # same cost: the override applies
    with db.connection_context():
        Price.update(cost=Decimal("0.25")).where(Price.id == dear.id).execute()
        price_overrides.set_override(operator, "wa", "TR", "0.21")
        assert Price.get_by_id(dear.id).user_price == Decimal("0.50")  # 0.25 x 2: never sold at a loss
        assert Price.get_by_id(simulator.id).user_price == Decimal("0.21")
