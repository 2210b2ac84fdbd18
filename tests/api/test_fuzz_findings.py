"""What the schemathesis run (tests/fuzz) found, each kept as a regression test."""

from __future__ import annotations

import requests

from smsbulk.extensions import get_redis
from tests.factories import make_user as make_full_user


def test_options_names_the_methods_of_the_route_it_matched(client):
    answer = client.options("/api/v1/keys/current")
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    hook = client.options("/api/v1/webhooks/sms-activate")
    assert set(hook.headers["Allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
    key = client.options("/api/v1/keys/key_0123456789abcdef")
    assert set(key.headers["Allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}


def test_json_bodies_take_json_integers_and_booleans_only(client, make_user):
    account = make_user()
    loose = [
        ("/api/v1/webhooks", {"url": "https://example.com/hook", "enabled": 0}, "enabled"),
        ("/api/v1/keys", {"dailyQuota": "500"}, "dailyQuota"),
        ("/api/v1/keys", {"maxPurchasesPerDay": 2.5e-42}, "maxPurchasesPerDay"),
        ("/api/v1/activations", {"serviceCode": "wa", "countryId": True}, "countryId"),
    ]
    for path, body, field in loose:
        answer = client.post(path, json=body, headers=account.headers)
        assert answer.status_code == 422 and field in answer.json["errors"]["json"], (path, answer.json)
    assert client.get("/api/v1/activations?page=2&page_size=5", headers=account.headers).status_code == 200


def test_a_query_parameter_no_operation_reads_is_not_checked(client, make_user):
    account = make_user()
    answer = client.get("/api/v1/keys", query_string={"api_key": "x\x14y"}, headers=account.headers)
    assert answer.status_code == 200  # the header's key is used; the query's is not read at all
    refused = client.get("/api/v1/catalog/prices", query_string={"serviceCode": "w\x14a"}, headers=account.headers)
    assert refused.status_code == 422 and refused.json["errors"]["query"]["serviceCode"]


def test_input_strings_document_that_they_take_no_control_characters(client):
    spec = client.get("/api/openapi.json").json
    create = spec["components"]["schemas"]["ActivationCreate"]
    assert create["properties"]["operator"]["pattern"] == "^[^\u0000-\u001f\u007f]*$"
    assert "pattern" not in spec["components"]["schemas"]["Sms"]["properties"]["text"]  # an answer: any text
    assert create["not"]["anyOf"][0] == {"required": ["countryIso", "countryId"]}


def test_requests_in_threads_of_their_own_do_not_use_up_redis_connections(live_url, app):
    account = make_full_user("20.00")
    pool = get_redis().connection_pool
    for _ in range(30):  # each request on a new connection: a new server thread each
        bought = requests.post(
            f"{live_url}/api/v1/activations", json={"serviceCode": "wa", "countryIso": "TR"},
            headers={"x-api-key": account.key}, timeout=30,
        )  # fmt: skip
        assert bought.status_code == 201
    assert len(pool._in_use_connections) < 10  # was one more per purchase: the cached queue kept each thread's
