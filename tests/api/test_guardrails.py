"""Per-key guardrails (daily purchase count, daily spend cap), set and changed through REST."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.factories import assert_ledger_exact, balance

BUY = {"serviceCode": "wa", "countryIso": "TR"}
KEYS = "/api/v1/keys"


def price(client, account) -> Decimal:
    prices = client.get("/api/v1/catalog/prices?serviceCode=wa&countryIso=TR", headers=account.headers).json
    return Decimal(prices[0]["price"])


def guarded_key(client, owner, **guardrails) -> dict:
    made = client.post(KEYS, json={"name": "guarded bot", **guardrails}, headers=owner.headers)
    assert made.status_code == 201, made.json
    return made.json


def race(app, secret: str, purchases: int = 40) -> list[int]:
    barrier = threading.Barrier(purchases)

    def purchase(_):
        barrier.wait()
        with app.test_client() as own:
            return own.post("/api/v1/activations", json=BUY, headers={"x-api-key": secret}).status_code

    with ThreadPoolExecutor(max_workers=purchases) as pool:
        return list(pool.map(purchase, range(purchases)))


def test_a_key_cannot_buy_more_than_its_daily_purchase_count(client, make_user):
    owner = make_user("10.00")
    key = guarded_key(client, owner, maxPurchasesPerDay=2)
    headers = {"x-api-key": key["secret"]}
    codes = [client.post("/api/v1/activations", json=BUY, headers=headers).status_code for _ in range(3)]
    assert codes == [201, 201, 403]
    refused = client.post("/api/v1/activations", json=BUY, headers=headers).json
    assert refused["error"] == "guardrail_reached" and refused["maxPurchasesPerDay"] == 2
    shown = client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json
    assert shown["purchasesToday"] == 2 and Decimal(shown["spentToday"]) == 2 * price(client, owner)
    assert_ledger_exact(owner)


def test_a_key_cannot_spend_more_than_its_daily_cap(client, make_user):
    owner = make_user("10.00")
    headers = {"x-api-key": guarded_key(client, owner, maxSpendPerDay="0.50")["secret"]}
    costs = []
    while True:
        answer = client.post("/api/v1/activations", json=BUY, headers=headers)
        if answer.status_code != 201:
            break
        costs.append(Decimal(answer.json["userCost"]))
    assert answer.status_code == 403 and answer.json["maxSpendPerDay"] == "0.50"
    assert sum(costs) <= Decimal("0.50") < sum(costs) + costs[0]
    assert balance(owner) == Decimal("10.00") - sum(costs)


def test_a_purchase_count_set_through_rest_holds_exactly_when_forty_purchases_race(app, client, make_user):
    owner = make_user("50.00")
    key = guarded_key(client, owner, maxPurchasesPerDay=7)
    codes = race(app, key["secret"])
    assert codes.count(201) == 7 and codes.count(403) == 33, codes
    assert balance(owner) == Decimal("50.00") - 7 * price(client, owner)
    assert client.get(f"{KEYS}/{key['id']}", headers=owner.headers).json["purchasesToday"] == 7
    assert_ledger_exact(owner)


def test_a_spend_cap_set_through_rest_holds_exactly_when_forty_purchases_race(app, client, make_user):
    owner = make_user("50.00")
    each = price(client, owner)
    cap = each * 5 + each / 2  # five purchases fit, a sixth would cross it
    key = guarded_key(client, owner, maxSpendPerDay=f"{cap.quantize(Decimal('0.01'))}")
    codes = race(app, key["secret"])
    assert codes.count(201) == 5 and codes.count(403) == 35, codes
    assert balance(owner) == Decimal("50.00") - 5 * each
    assert_ledger_exact(owner)


def test_a_guardrail_changed_through_rest_applies_to_the_next_purchase_even_with_keys_cached(app, client, make_user):
    app.config["KEY_CACHE_SECONDS"] = 60  # the change, not the cache's expiry, must bring it in
    owner = make_user("10.00")
    key = guarded_key(client, owner, maxPurchasesPerDay=1)
    headers = {"x-api-key": key["secret"]}
    assert [client.post("/api/v1/activations", json=BUY, headers=headers).status_code for _ in range(2)] == [201, 403]
    client.patch(f"{KEYS}/{key['id']}", json={"maxPurchasesPerDay": 3}, headers=owner.headers)
    assert [client.post("/api/v1/activations", json=BUY, headers=headers).status_code for _ in range(3)] == [
        201,
        201,
        403,
    ]
    client.patch(f"{KEYS}/{key['id']}", json={"maxPurchasesPerDay": None}, headers=owner.headers)
    assert client.post("/api/v1/activations", json=BUY, headers=headers).status_code == 201
    assert_ledger_exact(owner)
