"""Flask commands for operators: migrations, seeding, users, wallets and keys."""

from __future__ import annotations

import os
from decimal import Decimal

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from playhouse.migrations import run as run_migrations

from .errors import DomainError
from .extensions import db
from .money import to_money

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")

users_cli = AppGroup("users", help="Manage users.")
wallet_cli = AppGroup("wallet", help="Credit wallets.")
keys_cli = AppGroup("keys", help="Manage API keys.")


def _amount(value: str) -> Decimal:
    try:
        return to_money(value)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc


def _fail_on_domain_error(func):
    def wrapper(*args, **kwargs):
        try:
            with db.connection_context():
                return func(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def upgrade() -> list[str]:
    """Apply pending migrations, then load the catalog and the simulator's prices."""
    from .services import catalog, providers

    with db.connection_context():
        applied = run_migrations(db.obj, MIGRATIONS)
        catalog.seed_catalog()
        providers.ensure_simulator()
        providers.sync_prices("simulator")
    return applied


@click.command("db-upgrade")
def db_upgrade() -> None:
    """Apply pending migrations and seed the catalog (safe to run again)."""
    applied = upgrade()
    click.echo(f"migrations applied: {', '.join(applied) or 'none pending'}")


@users_cli.command("create")
@click.argument("email")
@click.option("--balance", default="0", help="Opening balance in USD")
@click.option("--password", default="", help="Dashboard password")
@click.option("--admin", is_flag=True, help="Give the admin role")
@_fail_on_domain_error
def users_create(email: str, balance: str, password: str, admin: bool) -> None:
    """Create a user with a wallet and one API key; the key is printed last."""
    from .services import accounts

    user = accounts.create_user(email, password, _amount(balance), role="admin" if admin else "user")
    key, raw = accounts.create_key(user, name="default", quota=current_app.config["DEFAULT_DAILY_QUOTA"])
    click.echo(f"user {user.email} created, balance {accounts.wallets.balance_of(user)} USD")
    click.echo(raw)


@wallet_cli.command("credit")
@click.argument("email")
@click.argument("amount")
@_fail_on_domain_error
def wallet_credit(email: str, amount: str) -> None:
    """Add money to a user's wallet (a deposit in the ledger)."""
    from .services import accounts, wallets

    balance = wallets.deposit(accounts.user_by_email(email), _amount(amount), memo="credited by operator")
    click.echo(f"balance of {email}: {balance} USD")


@keys_cli.command("create")
@click.argument("email")
@click.option("--name", default="default")
@click.option("--quota", type=int, default=None, help="Daily request quota")
@_fail_on_domain_error
def keys_create(email: str, name: str, quota: int | None) -> None:
    """Create an API key; it is printed last, once."""
    from .services import accounts

    quota = quota if quota is not None else current_app.config["DEFAULT_DAILY_QUOTA"]
    key, raw = accounts.create_key(accounts.user_by_email(email), name=name, quota=quota)
    click.echo(f"key {key.prefix}... ({key.name}, {key.daily_quota} requests/day)")
    click.echo(raw)


def demo_account(email: str = "demo@smsbulk.local", balance: str = "10.00") -> tuple[str, str]:
    """Create (or reuse) the demo account; revoke its previous demo key and make a fresh one."""
    from .models import ApiKey, User
    from .services import accounts

    with db.connection_context():
        user = User.get_or_none(User.email == email) or accounts.create_user(email, "demo", _amount(balance))
        for old in accounts.keys_of(user).where(ApiKey.name == "demo", ApiKey.revoked_at.is_null()):
            accounts.revoke_key(user, old.id)  # secrets are shown once: each run makes a fresh one
        _, raw = accounts.create_key(user, name="demo", quota=current_app.config["DEFAULT_DAILY_QUOTA"])
    return user.email, raw


@click.command("demo")
@click.option("--email", default="demo@smsbulk.local")
@click.option("--balance", default="10.00", help="Opening balance of a new demo account")
def demo(email: str, balance: str) -> None:
    """Create (or reuse) the demo account and print a fresh API key on a line with "API key"."""
    email, raw = demo_account(email, balance)
    click.echo(f"Demo account: {email}")
    click.echo(f"API key: {raw}")


def register(app: Flask) -> None:
    for command in (db_upgrade, demo, users_cli, wallet_cli, keys_cli):
        app.cli.add_command(command)
