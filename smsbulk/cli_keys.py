"""`flask keys ...`: operators manage any account's keys, through the same services as REST."""

from __future__ import annotations

import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from .cli import fail_on_domain_error

keys_cli = AppGroup("keys", help="Manage API keys: list, create, set, rotate, revoke.")

NONE = "none"


def _limit(value: str | None) -> int | None:
    if value is None or value.lower() == NONE:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise click.BadParameter(f"a whole number or {NONE!r}") from exc


def _scopes(value: str) -> list[str]:
    return [scope.strip() for scope in value.split(",") if scope.strip()]


def _expiry(value: str | None) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("an ISO 8601 time, e.g. 2030-01-31T12:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _when(moment: datetime.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


def describe(key) -> str:
    """One line per key: everything the REST API shows of it, but the secret."""
    limits = f"max_purchases={key.max_purchases_per_day if key.max_purchases_per_day is not None else '-'}"
    limits += f"  max_spend={key.max_spend_per_day if key.max_spend_per_day is not None else '-'}"
    return (
        f"{key.public_id}  name={key.name!r}  prefix={key.prefix}  state={key.state}  "
        f"scopes={','.join(key.scope_list)}  quota={key.daily_quota}  used_today={key.usage_today}  "
        f"{limits}  purchases_today={key.purchases_today}  spent_today={key.spent_today}  "
        f"allowed_ips={','.join(key.ip_list) or 'any'}  expires={_when(key.expires_at)}  "
        f"created={_when(key.created_at)}  last_used={_when(key.last_used)}  revoked={_when(key.revoked_at)}"
    )


_settings = [
    click.option("--name", default=None),
    click.option("--quota", type=int, default=None, help="Daily request quota"),
    click.option("--max-purchases", default=None, help=f"Purchases per UTC day, or {NONE!r}"),
    click.option("--max-spend", default=None, help=f"USD per UTC day, or {NONE!r}"),
    click.option("--scopes", default=None, help="Comma-separated: read,purchase,keys"),
    click.option("--allow-ip", multiple=True, help="A CIDR the key is accepted from (repeat for more)"),
]


def _with_settings(func):
    for option in reversed(_settings):
        func = option(func)
    return func


def _given(name, quota, max_purchases, max_spend, scopes, allow_ip) -> dict:
    """The settings given on the command line, as the key services take them."""
    settings = {"name": name, "daily_quota": quota, "scopes": _scopes(scopes) if scopes is not None else None}
    settings = {field: value for field, value in settings.items() if value is not None}
    if max_purchases is not None:
        settings["max_purchases_per_day"] = _limit(max_purchases)
    if max_spend is not None:
        settings["max_spend_per_day"] = None if max_spend.lower() == NONE else max_spend
    if allow_ip:
        settings["allowed_ips"] = list(allow_ip)
    return settings


@keys_cli.command("list")
@click.argument("email")
@click.option("--state", type=click.Choice(["active", "expired", "revoked"]), default=None)
@fail_on_domain_error
def keys_list(email: str, state: str | None) -> None:
    """The user's keys, newest first."""
    from .services import accounts, keys

    for key in keys.with_usage(keys.listing(keys.Actor(accounts.user_by_email(email).id), state)):
        click.echo(describe(key))


@keys_cli.command("create")
@click.argument("email")
@_with_settings
@click.option("--expires", default=None, help="When it stops working (ISO 8601)")
@click.option("--numbers-status-v1", is_flag=True, help="Legacy getNumbersStatus in the older <service>_0 form")
@fail_on_domain_error
def keys_create(email: str, expires: str | None, numbers_status_v1: bool, **options) -> None:
    """Create an API key (scopes read,purchase unless --scopes says); the secret is printed last, once."""
    from .services import accounts, keys

    settings = {"daily_quota": current_app.config["DEFAULT_DAILY_QUOTA"], **_given(**options)}
    owner = keys.Actor(accounts.user_by_email(email).id)
    key = keys.create(owner, expires_at=_expiry(expires), legacy_numbers_status_v1=numbers_status_v1, **settings)
    click.echo(describe(key))
    click.echo(key.secret)


@keys_cli.command("set")
@click.argument("key_id")
@_with_settings
@click.option("--any-ip", is_flag=True, help="Accept the key from any address again")
@fail_on_domain_error
def keys_set(key_id: str, any_ip: bool, **options) -> None:
    """Change a key's name, quota, guardrails, scopes or allowed addresses; what is not given stays."""
    from .services import keys

    settings = _given(**options)
    if any_ip:
        settings["allowed_ips"] = []
    click.echo(describe(keys.change(keys.owner_of(key_id), key_id, **settings)))


@keys_cli.command("rotate")
@click.argument("key_id")
@click.option("--grace", type=int, default=0, help="Seconds the old secret keeps working (at most 86400)")
@fail_on_domain_error
def keys_rotate(key_id: str, grace: int) -> None:
    """A new secret for the key (id, name and settings kept); printed last, once."""
    from .services import keys

    key = keys.rotate(keys.owner_of(key_id), key_id, grace)
    click.echo(describe(key))
    click.echo(key.secret)


@keys_cli.command("revoke")
@click.argument("key_id")
@fail_on_domain_error
def keys_revoke(key_id: str) -> None:
    """Revoke a key: every process refuses it within a second."""
    from .services import keys

    click.echo(describe(keys.revoke(keys.owner_of(key_id), key_id)))
