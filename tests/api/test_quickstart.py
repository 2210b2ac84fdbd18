from decimal import Decimal

from tests.factories import assert_ledger_exact, balance


def test_the_seed_pages_quick_start_buys_a_turkish_number_and_gets_its_code(client, make_user):
    account = make_user("10.00")
    answer = client.get("/api/v1/wallet/balance", headers=account.headers)
    assert answer.status_code == 200
    assert answer.json == {"balance": "10.00", "currency": "USD"}

    bought = client.post("/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"}, headers=account.headers)
    assert bought.status_code == 201, bought.json
    activation = bought.json
    assert activation["status"] == "WAITING"
    assert activation["phoneNumber"].startswith("90") and len(activation["phoneNumber"]) == 12
    assert activation["countryIso"] == "TR" and activation["serviceCode"] == "wa"

    from workers.tasks import poll_statuses

    poll_statuses()  # the simulator's delay is 0 in tests: the code is there at the first poll
    polled = client.get(f"/api/v1/activations/{activation['id']}", headers=account.headers).json
    assert polled["status"] == "RECEIVED"
    assert polled["smsCode"] and polled["smsCode"] in polled["sms"][0]["text"]
    assert balance(account) == Decimal("10.00") - Decimal(activation["userCost"])
    assert_ledger_exact(account)
