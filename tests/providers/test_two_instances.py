"""One SMSBulk buying from another over the SMS-Activate protocol, in one process.

The upstream is a second app with its own SQLite file and its own Redis database, served by
werkzeug in a thread. Both apps share the `db` proxy of smsbulk.extensions, so while this test
runs the proxy hands each thread its instance's database: threads serving the upstream get
the upstream's, every other thread the downstream's.
"""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as redis_lib
from peewee import DatabaseProxy
from werkzeug.serving import make_server

from smsbulk import config as settings
from smsbulk import create_app
from smsbulk.extensions import db
from smsbulk.models import ALL_MODELS, Activation, Price, Provider
from smsbulk.services import accounts, catalog, lifecycle, providers, wallets
from tests.factories import make_key
from tests.stubs import closed_port_url

from .fakes import dead_provider

_where = threading.local()


class ThreadRoutedProxy(DatabaseProxy):
    """The class `db` wears during the test: `obj` is the upstream's database in upstream
    threads and the downstream's elsewhere, so `type(db.obj)` and `isinstance` answer for the
    right instance too."""

    __slots__ = ()
    databases: dict[bool, object] = {}

    @property
    def obj(self):
        return self.databases.get(getattr(_where, "upstream", False))

    def __setattr__(self, name, value):
        if name != "obj":
            return super().__setattr__(name, value)
        self.databases[getattr(_where, "upstream", False)] = value


@contextlib.contextmanager
def as_upstream(app):
    """Run a block as the upstream instance (its app, its database)."""
    previous = getattr(_where, "upstream", False)
    _where.upstream = True
    try:
        with app.app_context():
            yield
    finally:
        _where.upstream = previous


def other_redis_db(url: str) -> str:
    """The same Redis server, another database number: the upstream's keys stay apart."""
    if url.startswith("unix://"):
        return url + "?db=1"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/1"))


@pytest.fixture
def upstream(app, tmp_path, redis_url):
    """A second SMSBulk (simulator only) at a local URL, and an API key of an account there."""
    downstream_db = db.obj
    config = dict(vars(settings.TestConfig()))
    redis_url = other_redis_db(redis_url)
    redis_lib.Redis.from_url(redis_url).flushdb()
    config.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'upstream.db'}",
        REDIS_URL=redis_url,
        RQ_ASYNC=False,
        PURCHASE_WAIT_SECONDS=0,
    )
    up_app = create_app(config)  # re-points the shared proxy: routed per thread just below
    ThreadRoutedProxy.databases.update({False: downstream_db, True: db.obj})
    object.__setattr__(db, "__class__", ThreadRoutedProxy)  # Proxy refuses ordinary attribute writes

    def serve_as_upstream(environ, start_response):
        _where.upstream = True  # each request runs in its own thread
        return up_app(environ, start_response)

    with as_upstream(up_app), db.connection_context():
        db.create_tables(ALL_MODELS)
        catalog.seed_catalog()
        providers.ensure_simulator()
        providers.sync_prices("simulator")
        user = accounts.create_user("reseller@example.com", "pw", Decimal("5.00"))
        key = make_key(user).secret
    server = make_server("127.0.0.1", 0, serve_as_upstream, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    up_app.extensions["test_key"] = key
    up_app.extensions["test_url"] = f"http://127.0.0.1:{server.server_port}"
    up_app.extensions["test_user"] = user
    yield up_app
    server.shutdown()
    thread.join(timeout=5)
    object.__setattr__(db, "__class__", DatabaseProxy)
    ThreadRoutedProxy.databases.clear()
    db.initialize(downstream_db)


def upstream_activation(up_app, activation_id: int) -> Activation:
    with as_upstream(up_app), db.connection_context():
        return Activation.get_by_id(activation_id)


def upstream_balance(up_app) -> Decimal:
    with as_upstream(up_app), db.connection_context():
        return wallets.balance_of(up_app.extensions["test_user"])


def test_a_downstream_buys_from_an_upstream_smsbulk_and_its_finish_and_cancel_reach_it(
    app, client, runner, make_user, upstream
):
    url, key = upstream.extensions["test_url"], upstream.extensions["test_key"]
    assert runner.invoke(args=["providers", "disable", "simulator"]).exit_code == 0
    added = runner.invoke(
        args=["providers", "add", "up", "--kind", "sms-activate", "--base-url", url, "--api-key", key]
    )
    assert added.exit_code == 0 and "prices" in added.output and "sync failed" not in added.output, added.output
    listed = runner.invoke(args=["providers", "list"]).output
    assert key not in listed and "****" in listed
    account = make_user()
    buy = {"serviceCode": "wa", "countryIso": "TR"}

    bought = client.post("/api/v1/activations", json=buy, headers=account.headers).json
    assert bought["status"] == "WAITING", bought
    with db.connection_context():
        mine = Activation.get_by_id(bought["legacyId"])
    theirs = upstream_activation(upstream, int(mine.provider_ref))
    assert theirs.phone_number == mine.phone_number == bought["phoneNumber"]
    assert mine.provider_cost == theirs.user_cost  # what the upstream charged us

    with as_upstream(upstream), db.connection_context():
        lifecycle.poll_once()  # the upstream's simulator has sent the code
    with db.connection_context():
        lifecycle.poll_once()
    ours = client.get(f"/api/v1/activations/{bought['id']}", headers=account.headers).json
    assert ours["smsCode"] and ours["smsCode"] == upstream_activation(upstream, theirs.id).sms_code

    client.post(f"/api/v1/activations/{bought['id']}/finish", headers=account.headers)
    assert upstream_activation(upstream, theirs.id).status == "COMPLETED"

    spent = upstream_balance(upstream)
    second = client.post("/api/v1/activations", json=buy, headers=account.headers).json
    assert upstream_balance(upstream) < spent
    cancelled = client.post(f"/api/v1/activations/{second['id']}/cancel", headers=account.headers).json
    assert cancelled["status"] == "CANCELED"
    with db.connection_context():
        their_ref = int(Activation.get_by_id(second["legacyId"]).provider_ref)
    assert upstream_activation(upstream, their_ref).status == "CANCELED"
    assert upstream_balance(upstream) == spent  # the upstream refunded our cancel

    # A cheaper provider at a dead address ahead of it: purchases still succeed.
    with db.connection_context():
        up = Provider.get(Provider.name == "up")
        up_cost = Price.get((Price.provider == up) & (Price.service == "wa") & (Price.country == 62)).cost
    dead_provider("dead", closed_port_url(), cost=str(up_cost - Decimal("0.01")), priority=1)
    third = client.post("/api/v1/activations", json=buy, headers=account.headers).json
    assert third["status"] == "WAITING"
    with db.connection_context():
        assert Activation.get_by_id(third["legacyId"]).provider.name == "up"
