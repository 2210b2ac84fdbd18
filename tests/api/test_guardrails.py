from decimal import Decimal

from tests.factories import assert_ledger_exact, balance

BUY = {"serviceCode": "wa", "countryIso": "TR"}


def test_a_key_cannot_buy_more_than_its_daily_purchase_count(client, make_user):
    account = make_user("10.00", max_purchases_per_day=2)
    codes = [client.post("/api/v1/activations", json=BUY, headers=account.headers).status_code for _ in range(3)]
    assert codes == [201, 201, 403]
    refused = client.post("/api/v1/activations", json=BUY, headers=account.headers).json
    assert refused["error"] == "key_limit_reached"
    assert_ledger_exact(account)


def test_a_key_cannot_spend_more_than_its_daily_cap(client, make_user):
    account = make_user("10.00", max_spend_per_day=Decimal("0.50"))
    costs = []
    while True:
        answer = client.post("/api/v1/activations", json=BUY, headers=account.headers)
        if answer.status_code != 201:
            break
        costs.append(Decimal(answer.json["userCost"]))
    assert answer.status_code == 403
    assert sum(costs) <= Decimal("0.50") < sum(costs) + costs[0]
    assert balance(account) == Decimal("10.00") - sum(costs)
