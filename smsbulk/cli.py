"""Flask commands for operators: migrations, seeding, users, wallets, keys and providers."""

from __future__ import annotations

import os
import signal
import sys
import time
from decimal import Decimal

import click
import peewee
from flask import Flask
from flask.cli import AppGroup
from playhouse.migrations import run as run_migrations

from .errors import DomainError
from .extensions import db
from .models.users import SCOPES
from .money import to_money

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")

users_cli = AppGroup("users", help="Manage users.")
wallet_cli = AppGroup("wallet", help="Credit wallets.")
providers_cli = AppGroup("providers", help="Manage upstream providers (changes apply without a restart).")


def parse_amount(value: str) -> Decimal:
    try:
        return to_money(value)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc


def fail_on_domain_error(func):
    def wrapper(*args, **kwargs):
        try:
            with db.connection_context():
                return func(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def upgrade(attempts: int = 10) -> list[str]:
    """Apply pending migrations, then load the catalog and the simulator's prices.

    On a new SQLite file the processes started beside the release (`honcho start`) may hold its
    lock for a moment (switching it to WAL): each step is a transaction, so it is tried again."""
    from .services import catalog, providers

    for attempt in range(1, attempts + 1):
        try:
            with db.connection_context():
                applied = run_migrations(db.obj, MIGRATIONS)
                catalog.seed_catalog()
                providers.ensure_simulator()
                providers.sync_prices("simulator")
            return applied
        except peewee.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts:
                raise
            time.sleep(1)
    return []


@click.command("db-upgrade")
@click.option(
    "--wait-under-procfile-runner",
    "wait",
    is_flag=True,
    help="Run by honcho or foreman (the Procfile's release entry): stay up until stopped after migrating.",
)
def db_upgrade(wait: bool) -> None:
    """Apply pending migrations and seed the catalog (safe to run again)."""
    applied = upgrade()
    click.echo(f"migrations applied: {', '.join(applied) or 'none pending'}")
    # `honcho start` runs every Procfile entry, release too, and stops them all when one ends.
    # Heroku's release phase sets neither variable: there the command ends and the deploy goes on.
    if wait and (os.environ.get("HONCHO_PROCESS_NAME") or os.environ.get("PS")):
        click.echo("release done; idle until the other processes stop", err=True)
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, lambda *_: sys.exit(0))
        while True:
            signal.pause()


@users_cli.command("create")
@click.argument("email")
@click.option("--balance", default="0", help="Opening balance in USD")
@click.option("--password", default="", help="Dashboard password")
@click.option("--admin", is_flag=True, help="Give the admin role")
@fail_on_domain_error
def users_create(email: str, balance: str, password: str, admin: bool) -> None:
    """Create a user with a wallet and one API key (every scope); the key is printed last."""
    from .services import accounts, keys

    user = accounts.create_user(email, password, parse_amount(balance), role="admin" if admin else "user")
    key = keys.create(keys.Actor(user.id), name="default", scopes=SCOPES)
    click.echo(f"user {user.email} created, balance {accounts.wallets.balance_of(user)} USD")
    click.echo(key.secret)


@users_cli.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["user", "admin"]))
@fail_on_domain_error
def users_role(email: str, role: str) -> None:
    """Give an existing account a role: admin opens the dashboard's operator pages to it."""
    from .services import accounts

    user = accounts.set_role(email, role)
    click.echo(f"user {user.email} is now {user.role}")


@users_cli.command("list")
@fail_on_domain_error
def users_list() -> None:
    """Every user: email, role, balance, active keys, created."""
    from .services import accounts

    for user in accounts.listing():
        click.echo(
            f"{user.email}  role={user.role}  balance={user.balance}  active_keys={user.active_keys}  "
            f"created={user.created_at:%Y-%m-%d %H:%M:%S}"
        )


@wallet_cli.command("credit")
@click.argument("email")
@click.argument("amount")
@fail_on_domain_error
def wallet_credit(email: str, amount: str) -> None:
    """Add money to a user's wallet (a deposit in the ledger)."""
    from .services import accounts, wallets

    balance = wallets.deposit(accounts.user_by_email(email), parse_amount(amount), memo="credited by operator")
    click.echo(f"balance of {email}: {balance} USD")


DEMO_PASSWORD = "smsbulk-demo"  # a local demo's dashboard login, printed by `make run`


def demo_account(email: str = "demo@smsbulk.local", balance: str = "10.00") -> tuple[str, str]:
    """Create (or reuse) the demo account; revoke its previous demo key and make a fresh one.
    Its dashboard password is DEMO_PASSWORD, set again on each run."""
    from .models import ApiKey, User
    from .services import accounts, keys

    with db.connection_context():
        user = User.get_or_none(User.email == email) or accounts.create_user(email, "", parse_amount(balance))
        accounts.set_password(user.id, DEMO_PASSWORD)
        owner = keys.Actor(user.id)
        for old in ApiKey.select().where(ApiKey.user == user, ApiKey.name == "demo", ApiKey.revoked_at.is_null()):
            keys.revoke(owner, old.public_id)  # secrets are shown once: each run makes a fresh one
        key = keys.create(owner, name="demo", scopes=SCOPES)
    return user.email, key.secret


@click.command("demo")
@click.option("--email", default="demo@smsbulk.local")
@click.option("--balance", default="10.00", help="Opening balance of a new demo account")
def demo(email: str, balance: str) -> None:
    """Create (or reuse) the demo account and print a fresh API key on a line with "API key"."""
    email, raw = demo_account(email, balance)
    click.echo(f"Demo account: {email}")
    click.echo(f"API key: {raw}")
    click.echo(f"Dashboard login: {email} / {DEMO_PASSWORD}")


def _provider_command(func):
    """Run in a connection; a setting that cannot work is a clear error, not a traceback."""

    def wrapper(*args, **kwargs):
        from .services.providers import ProviderConfigError

        try:
            with db.connection_context():
                return func(*args, **kwargs)
        except (ProviderConfigError, TypeError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _echo_sync(result: dict[str, int]) -> None:
    for name, count in result.items():
        if count == -1:
            click.echo(f"{name}: sync failed (upstream unreachable or refused; previous prices kept)")
        elif count == -2:
            click.echo(f"{name}: disabled, not synced")
        else:
            click.echo(f"{name}: {count} prices")


_provider_options = [
    click.option("--base-url", default=None, help="Upstream address (sms-activate: required)"),
    click.option("--api-key", default=None, help="Our key at the upstream"),
    click.option("--priority", type=int, default=None, help="Lower is tried first (default 100)"),
    click.option("--markup", default=None, help="User price = cost x markup (default: DEFAULT_MARKUP)"),
]


def _with_provider_options(func):
    for option in reversed(_provider_options):
        func = option(func)
    return func


@providers_cli.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["simulator", "sms-activate", "5sim"]))
@_with_provider_options
@_provider_command
def providers_add(name: str, kind: str, base_url, api_key, priority, markup) -> None:
    """Add an upstream provider and pull its prices."""
    from .services import providers

    markup = parse_amount(markup) if markup is not None else None
    providers.add(name, kind, base_url=base_url, api_key=api_key, priority=priority, markup=markup)
    click.echo(f"provider {name} added ({kind})")
    _echo_sync(providers.sync_prices(name))


@providers_cli.command("set")
@click.argument("name")
@_with_provider_options
@_provider_command
def providers_set(name: str, base_url, api_key, priority, markup) -> None:
    """Change a provider's address, key, priority or markup, and pull its prices again."""
    from .services import providers

    markup = parse_amount(markup) if markup is not None else None
    providers.change(name, base_url=base_url, api_key=api_key, priority=priority, markup=markup)
    click.echo(f"provider {name} changed")
    _echo_sync(providers.sync_prices(name))


@providers_cli.command("list")
@_provider_command
def providers_list() -> None:
    """Providers in routing order; keys are masked."""
    from .services import providers

    for p in providers.listing():
        state = "enabled" if p.enabled else "disabled"
        click.echo(
            f"{p.name}  kind={p.kind}  {state}  priority={p.priority}  markup={p.markup}  "
            f"url={p.base_url or '-'}  key={p.api_key}  prices={p.prices}  circuit={p.circuit}"
        )


@providers_cli.command("enable")
@click.argument("name")
@_provider_command
def providers_enable(name: str) -> None:
    """Sell from this provider again (its prices are pulled now)."""
    from .services import providers

    providers.set_enabled(name, True)
    click.echo(f"provider {name} enabled")
    _echo_sync(providers.sync_prices(name))


@providers_cli.command("disable")
@click.argument("name")
@_provider_command
def providers_disable(name: str) -> None:
    """Stop buying from this provider; its open activations are still followed to the end."""
    from .services import providers

    providers.set_enabled(name, False)
    click.echo(f"provider {name} disabled")


@providers_cli.command("sync")
@click.argument("name", required=False)
@_provider_command
def providers_sync(name: str | None) -> None:
    """Pull prices and stock now from every enabled provider, or the named one."""
    from .services import providers

    if name:
        providers.get(name)
    _echo_sync(providers.sync_prices(name))


def register(app: Flask) -> None:
    from .cli_keys import keys_cli

    for command in (db_upgrade, demo, users_cli, wallet_cli, keys_cli, providers_cli):
        app.cli.add_command(command)
