"""Reading a history by cursor (keyset): stable order, nothing twice and nothing missed while new
rows arrive, page numbers still there, and bad cursors refused in the API's error shape."""

import base64
import json
from decimal import Decimal

import pytest

from smsbulk.extensions import db
from smsbulk.services import wallets

BUY = {"serviceCode": "wa", "countryIso": "TR"}
LISTS = ["/api/v1/activations", "/api/v1/wallet/transactions"]


def buy(client, account) -> str:
    answer = client.post("/api/v1/activations", json=BUY, headers=account.headers)
    assert answer.status_code in (201, 202), answer.json
    return answer.json["id"]


def meta(answer) -> dict:
    return json.loads(answer.headers["X-Pagination"])


def walk(client, account, path: str, size: int, cursor: str = "", extra: str = "") -> list:
    """Every page by cursor from `cursor`, each row's `id`; checks each page's metadata."""
    seen = []
    while True:
        answer = client.get(f"{path}?cursor={cursor}&page_size={size}{extra}", headers=account.headers)
        assert answer.status_code == 200, answer.json
        page = meta(answer)
        assert page["page_size"] == size and "total" not in page  # no COUNT by cursor
        seen += [row["id"] for row in answer.json]
        if page["next_cursor"] is None:
            return seen
        assert len(answer.json) == size
        cursor = page["next_cursor"]


def fund(account, times: int) -> None:
    with db.connection_context():
        for _ in range(times):
            wallets.deposit(account.user, Decimal("1.00"))


def test_activations_by_cursor_come_newest_first_each_once(client, make_user):
    account = make_user("20.00")
    bought = [buy(client, account) for _ in range(7)]
    assert walk(client, account, "/api/v1/activations", 3) == bought[::-1]
    assert walk(client, account, "/api/v1/activations", 7) == bought[::-1]
    assert walk(client, account, "/api/v1/activations", 100) == bought[::-1]


def test_transactions_by_cursor_are_the_pages_by_number(client, make_user):
    account = make_user()
    fund(account, 6)
    by_number = client.get("/api/v1/wallet/transactions?page_size=100", headers=account.headers).json
    assert len(by_number) == 7
    assert walk(client, account, "/api/v1/wallet/transactions", 2) == [row["id"] for row in by_number]


def test_rows_added_while_reading_are_neither_shown_twice_nor_make_a_gap(client, make_user):
    account = make_user("20.00")
    bought = [buy(client, account) for _ in range(6)]
    first = client.get("/api/v1/activations?cursor=&page_size=2", headers=account.headers)
    newer = [buy(client, account) for _ in range(3)]  # arrive at the top while the client reads on
    rest = walk(client, account, "/api/v1/activations", 2, meta(first)["next_cursor"])
    assert [row["id"] for row in first.json] + rest == bought[::-1]
    assert walk(client, account, "/api/v1/activations", 4)[:3] == newer[::-1]  # a new walk starts with them


def test_a_status_filter_holds_across_pages(client, make_user):
    account = make_user("20.00")
    bought = [buy(client, account) for _ in range(5)]
    for activation_id in bought[::2]:
        client.post(f"/api/v1/activations/{activation_id}/cancel", headers=account.headers)
    canceled = walk(client, account, "/api/v1/activations", 1, extra="&status=CANCELED")
    assert canceled == bought[::2][::-1]


def test_a_page_by_number_hands_over_to_cursors(client, make_user):
    account = make_user("20.00")
    bought = [buy(client, account) for _ in range(5)]
    page = client.get("/api/v1/activations?page=1&page_size=2", headers=account.headers)
    assert meta(page)["total"] == 5 and meta(page)["next_page"] == 2
    rest = walk(client, account, "/api/v1/activations", 2, meta(page)["next_cursor"])
    assert [row["id"] for row in page.json] + rest == bought[::-1]
    last = client.get("/api/v1/activations?page=3&page_size=2", headers=account.headers)
    assert [row["id"] for row in last.json] == bought[:1] and "next_cursor" not in meta(last)


def test_an_empty_history_is_one_empty_page(client, make_user):
    answer = client.get("/api/v1/activations?cursor=", headers=make_user().headers)
    assert answer.status_code == 200 and answer.json == [] and meta(answer)["next_cursor"] is None


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        "@@@@",
        _cursor("activation"),
        _cursor("activation:"),
        _cursor("activation:-5"),
        _cursor("activation:12x"),
        _cursor(":12"),
        _cursor(f"activation:{2**63}"),
        _cursor(f"ledgerentry:{10**30}"),
        base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
        "A" * 65,
    ],
)
def test_a_bad_cursor_is_a_validation_error(client, make_user, path, cursor):
    answer = client.get(path, query_string={"cursor": cursor}, headers=make_user().headers)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "validation_error" and "cursor" in answer.json["errors"]["query"]


@pytest.mark.parametrize(("path", "other"), [(LISTS[0], "ledgerentry"), (LISTS[1], "activation")])
def test_a_cursor_of_another_list_is_refused(client, make_user, path, other):
    answer = client.get(path, query_string={"cursor": _cursor(f"{other}:5")}, headers=make_user().headers)
    assert answer.status_code == 422 and answer.json["error"] == "validation_error"
    assert "cursor" in answer.json["errors"]["query"]


def test_a_cursor_wins_over_a_page_number(client, make_user):
    """Both are valid alone, so both together are too (the OpenAPI document cannot say "not both"):
    the cursor decides, the page number is ignored."""
    account = make_user()
    for _ in range(3):
        buy(client, account)
    by_cursor = client.get("/api/v1/activations?page_size=2&cursor=", headers=account.headers)
    both = client.get("/api/v1/activations?page=2&page_size=2&cursor=", headers=account.headers)
    assert both.status_code == 200 and both.json == by_cursor.json and len(both.json) == 2
    assert meta(both)["next_cursor"] == meta(by_cursor)["next_cursor"] is not None


def test_a_cursor_past_the_end_is_an_empty_last_page(client, make_user):
    account = make_user()
    buy(client, account)
    answer = client.get(
        "/api/v1/activations", query_string={"cursor": _cursor("activation:1")}, headers=account.headers
    )
    assert answer.status_code == 200 and answer.json == [] and meta(answer)["next_cursor"] is None


def test_the_cursor_is_documented(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/activations", "/api/v1/wallet/transactions", "/api/v1/rentals"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"cursor", "page", "page_size"} <= names, path


def test_keys_by_cursor_carry_their_usage_as_by_page_number(client, make_user):
    """A page's rows get what the list adds to them (a key's usage today) whichever way it is read."""
    account = make_user()
    for n in range(3):
        assert client.post("/api/v1/keys", json={"name": f"k{n}"}, headers=account.headers).status_code == 201
    by_number = client.get("/api/v1/keys?page_size=2", headers=account.headers)
    by_cursor = client.get("/api/v1/keys?page_size=2&cursor=", headers=account.headers)
    assert by_cursor.status_code == 200 and by_cursor.json == by_number.json
    assert all("purchasesToday" in key and "usageToday" in key for key in by_cursor.json)
