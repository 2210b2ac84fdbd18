"""The pieces that keep the hot paths short: compiled statements, the in-memory reference tables,
the pooled database, the quota day and the cookie-less session."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import peewee
import pytest

from smsbulk import auth, quota
from smsbulk.compiled import column_params, compiled_insert, compiled_rowcount, compiled_rows
from smsbulk.db import open_database
from smsbulk.errors import UnknownCountry, UnknownService
from smsbulk.extensions import get_redis
from smsbulk.models import ApiKey, Country, LedgerEntry, Price, Provider, Service, Wallet
from smsbulk.services import catalog


def test_a_compiled_select_answers_like_peewee_and_attaches_joined_rows(conn):
    def offers(service: str):
        return compiled_rows(
            "test-offers",
            lambda: Price.select(Price, Provider).join(Provider).where(Price.service == service).order_by(Price.id),
            service,
        )

    for service in ("wa", "tg"):  # the second call runs the SQL built for the first
        expected = list(Price.select(Price, Provider).join(Provider).where(Price.service == service).order_by(Price.id))
        got = offers(service)
        assert [p.id for p in got] == [p.id for p in expected] and got
        assert [(p.user_price, p.cost, p.provider.name) for p in got] == [
            (p.user_price, p.cost, p.provider.name) for p in expected
        ]
        assert isinstance(got[0].user_price, Decimal) and not got[0].is_dirty()


def test_parameters_in_the_wrong_order_fail_on_first_use(conn):
    with pytest.raises(TypeError, match="not the query's"):
        compiled_rows(
            "test-wrong-order",
            lambda: Country.select().where((Country.iso2 == "TR") & (Country.id == 62)),
            62,
            "TR",
        )


def test_compiled_insert_fills_defaults_and_answers_the_new_key(conn, make_user):
    account = make_user()
    wallet_id = Wallet.get(Wallet.user == account.user).id
    entry = compiled_insert(
        "test-ledger",
        LedgerEntry,
        {"wallet": wallet_id, "kind": "adjustment", "amount": Decimal("1.25"), "balance_after": Decimal("11.25")},
    )
    stored = LedgerEntry.get_by_id(entry.id)
    assert (stored.amount, stored.memo, stored.kind) == (Decimal("1.25"), "", "adjustment")
    assert stored.created_at is not None and not entry.is_dirty()


def test_compiled_rowcount_counts_changed_rows(conn):
    changes = {"name": "Türkiye"}

    def rename(country_id: int) -> int:
        return compiled_rowcount(
            "test-rename",
            lambda: Country.update(changes).where(Country.id == country_id),
            *column_params(Country, changes),
            country_id,
        )

    assert rename(62) == 1 and rename(999_999) == 0
    assert Country.get_by_id(62).name == "Türkiye"


def test_the_reference_tables_answer_from_memory(conn):
    catalog.reference.clear()
    assert catalog.resolve_country("tr").id == 62 and catalog.resolve_country("US").id == 187
    assert catalog.resolve_service("WA").code == "wa"
    Service.create(code="newsvc", name="Added later")
    # A name not found is looked up again at most every RELOAD_SECONDS...
    with pytest.raises(UnknownService):
        catalog.resolve_service("newsvc")
    # ...so a table seeded after the first read is picked up once that time has passed.
    catalog.reference.loaded_at = time.monotonic() - catalog.Reference.RELOAD_SECONDS - 1
    assert catalog.resolve_service("newsvc").name == "Added later"
    with pytest.raises(UnknownCountry):
        catalog.resolve_country("Atlantis")


def test_a_thread_reading_the_reference_tables_while_another_loads_them_finds_them(app, monkeypatch):
    """A new process's first requests come together: none may see the tables half loaded (a
    real service answered as unknown). The loader is stopped right after it stamps the tables
    loaded, and another thread reads them then."""
    import threading

    from tests.factories import race

    stamped, read = threading.Event(), threading.Event()

    class StoppedAfterTheStamp(catalog.Reference):
        def __setattr__(self, name, value):
            super().__setattr__(name, value)
            if name == "loaded_at" and value is not None:
                stamped.set()
                read.wait(5)

    monkeypatch.setattr(catalog, "reference", StoppedAfterTheStamp())

    def load():
        return catalog.resolve_service("wa").code

    def read_meanwhile():
        stamped.wait(5)
        try:
            return catalog.resolve_service("wa").code
        finally:
            read.set()

    assert race(load, read_meanwhile) == ["wa", "wa"]


def test_every_database_url_is_served_by_a_pool_whose_url_settings_win():
    sqlite = open_database("sqlite:///:memory:")
    assert isinstance(sqlite, peewee.SqliteDatabase) and sqlite._max_connections == 64
    assert dict(sqlite._pragmas)["journal_mode"] == "wal"
    postgres = open_database("postgresql://user@127.0.0.1:5432/x?max_connections=7")
    assert type(postgres).__name__ == "PooledPostgresqlDatabase" and postgres._max_connections == 7
    with pytest.raises(ValueError, match="unsupported"):
        open_database("oracle://x/y")


def test_a_quota_counter_lives_until_an_hour_after_the_reset(conn, make_user):
    account = make_user(quota=5)
    caller = auth.authenticate(account.key, 0)
    usage = quota.count_request(get_redis(), caller)
    day = quota.quota_day()
    ttl = get_redis().ttl(f"quota:{caller.key_id}:{day.suffix}")
    until_reset = (day.reset_at - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert until_reset + 3600 - 5 <= ttl <= until_reset + 3601  # EXPIREAT is to the second
    assert usage.used == 1 and usage.reset_at == day.reset_at
    assert day.suffix == datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")


def test_the_quota_script_is_loaded_again_after_a_redis_script_flush(conn, make_user):
    account = make_user(quota=5)
    caller = auth.authenticate(account.key, 0)
    get_redis().script_flush()
    assert quota.count_request(get_redis(), caller).used == 1
    assert quota.count_request(get_redis(), caller).used == 2


def test_api_answers_set_no_session_cookie(client, make_user):
    account = make_user()
    answer = client.get("/api/v1/wallet/balance", headers=account.headers)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def test_guardrails_come_with_the_key_and_change_within_the_cache_time(conn, make_user):
    account = make_user(max_purchases_per_day=3)
    assert auth.authenticate(account.key, 5).max_purchases_per_day == 3
    limits = {"max_purchases_per_day": 1, "max_spend_per_day": Decimal("2.00")}
    ApiKey.update(limits).where(ApiKey.id == account.key_id).execute()
    assert auth.authenticate(account.key, 5).max_purchases_per_day == 3  # cached, as a revocation is
    auth._cache.clear()  # the cache time has passed
    fresh = auth.authenticate(account.key, 5)
    assert (fresh.max_purchases_per_day, fresh.max_spend_per_day) == (1, Decimal("2.00"))


@pytest.mark.parametrize("iso2", ["TR", "US", "GB", "IN", "ID", "RU", "DE", "BR"])
def test_simulated_numbers_are_valid_mobile_numbers_of_their_country(iso2):
    import phonenumbers

    from smsbulk.providers.simulator import mobile_number

    numbers = {mobile_number(iso2) for _ in range(50)}
    assert len(numbers) > 45  # random digits after the prefix
    for digits in numbers:
        parsed = phonenumbers.parse("+" + digits)
        assert phonenumbers.region_code_for_number(parsed) in (iso2, None) or parsed.country_code == (
            phonenumbers.country_code_for_region(iso2)
        )
        assert phonenumbers.is_possible_number(parsed), digits


def test_the_simulator_buys_with_one_round_trip_and_its_refs_never_repeat(app, monkeypatch):
    import redis as redis_lib

    from smsbulk.providers.base import RECEIVED
    from smsbulk.providers.simulator import SimulatorProvider

    client = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    simulator = SimulatorProvider(client, {62: "TR"}, sms_delay=0, name="test-sim")
    first = simulator.buy("wa", 62, "any", Decimal("1"), "1")  # loads the script
    sent, send = [], client.execute_command

    def counted(*args, **options):
        sent.append(args[0])
        return send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counted)
    second = simulator.buy("wa", 62, "any", Decimal("1"), "2")
    assert sent == ["EVALSHA"]
    monkeypatch.undo()
    assert int(second.ref) == int(first.ref) + 1
    client.delete("sim:test-sim:seq")  # Redis lost its data: the sequence starts again
    third = simulator.buy("wa", 62, "any", Decimal("1"), "3")
    assert int(third.ref) > int(second.ref)
    assert simulator.purchase_for("3", "wa", 62) == third and simulator.purchase_for("4", "wa", 62) is None
    status = simulator.statuses([second.ref])[second.ref]
    assert status.state == RECEIVED and status.messages[0].code.isdigit()
    assert second.phone.startswith("90")
