"""The operator's provider page: add, enable or disable, priority and markup, circuit state, the
upstream balance, and a price sync now - the `flask providers ...` commands, audited.

Each change and its audit event commit together; the price sync that follows a change (as the CLI
does it) runs after the commit, outside any transaction, since it calls the upstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..errors import BadRequest
from ..models import events as ev
from ..providers import KINDS
from ..providers.base import ProviderError
from . import audit, events, providers, routing

MAX_PRIORITY = 1_000_000
MAX_MARKUP = Decimal("100")


@dataclass(frozen=True)
class Balance:
    provider: str
    amount: Decimal | None
    error: str = ""


@dataclass(frozen=True)
class Overview:
    providers: list[providers.ProviderView]
    kinds: list[str]
    balance: Balance | None


def overview(balance_of: str = "") -> Overview:
    """Every provider in routing order with its circuit; with balance_of, that provider's balance
    at its upstream, asked now (one call, only when the operator asks for it)."""
    balance = upstream_balance(balance_of) if balance_of else None
    return Overview(providers.listing(), sorted(KINDS), balance)


def upstream_balance(name: str) -> Balance:
    provider = _get(name)
    try:
        return Balance(provider.name, routing.adapter_for(provider).balance())
    except ProviderError as exc:  # its breaker heard of it (health.Watched)
        return Balance(provider.name, None, f"the upstream did not answer with a balance ({type(exc).__name__})")


def _get(name: object):
    try:
        return providers.get(str(name or "").strip())
    except providers.ProviderConfigError as exc:
        raise BadRequest(str(exc), field="name") from exc


def _priority(text: object) -> int | None:
    value = str(text or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_PRIORITY:
        raise BadRequest(f"priority: a whole number from 0 to {MAX_PRIORITY} (lower is tried first)", field="priority")
    return int(value)


def _markup(text: object) -> Decimal | None:
    value = str(text or "").strip()
    if not value:
        return None
    try:
        markup = Decimal(value)
    except InvalidOperation:
        markup = Decimal(0)
    if not markup.is_finite() or not 0 < markup <= MAX_MARKUP or markup != markup.quantize(Decimal("0.0001")):
        raise BadRequest(f"markup: a number above 0 and at most {MAX_MARKUP}, 4 decimals at most", field="markup")
    return markup


def _settings(base_url: object, api_key: object, priority: object, markup: object) -> dict:
    """The settings a form gave (blank: unchanged, or the default for a new provider)."""
    return {
        "base_url": str(base_url or "").strip() or None,
        "api_key": str(api_key or "").strip() or None,
        "priority": _priority(priority),
        "markup": _markup(markup),
    }


def _shown(settings: dict) -> dict:
    """What the audit event records of the settings: the key only as changed, never its value."""
    shown = {name: value for name, value in settings.items() if value is not None and name != "api_key"}
    if settings.get("api_key") is not None:
        shown["api_key"] = "changed"
    return shown


def _configured(change):
    """Run a provider change; a setting that cannot work is a BadRequest that says why."""
    try:
        return change()
    except providers.ProviderConfigError as exc:
        raise BadRequest(str(exc)) from exc


def add(
    operator: audit.Operator, name: object, kind: object, base_url=None, api_key=None, priority=None, markup=None
) -> dict[str, int]:
    """A new, enabled provider; its prices are pulled at once (the sync's counts come back)."""
    settings = _settings(base_url, api_key, priority, markup)
    name, kind = str(name or "").strip(), str(kind or "").strip()
    with events.recording(operator.user_id):
        _configured(lambda: providers.add(name, kind, **settings))
        audit.record(operator, ev.ADMIN_PROVIDER_ADDED, f"provider {name}", kind=kind, **_shown(settings))
    return providers.sync_prices(name)


def change(operator: audit.Operator, name: object, base_url=None, api_key=None, priority=None, markup=None) -> dict:
    """Change what was given (blank fields stay as they are); prices are pulled again at once."""
    settings = _settings(base_url, api_key, priority, markup)
    provider = _get(name)
    if not any(value is not None for value in settings.values()):
        raise BadRequest("nothing to change: give a priority, a markup, an address or a key")
    with events.recording(operator.user_id):
        _configured(lambda: providers.change(provider.name, **settings))
        audit.record(operator, ev.ADMIN_PROVIDER_CHANGED, f"provider {provider.name}", **_shown(settings))
    return providers.sync_prices(provider.name)


def set_enabled(operator: audit.Operator, name: object, enabled: bool) -> dict[str, int]:
    """Sell from a provider again (its prices are pulled now), or stop buying from it; its open
    activations are followed to their end either way."""
    provider = _get(name)
    with events.recording(operator.user_id):
        providers.set_enabled(provider.name, enabled)
        event_type = ev.ADMIN_PROVIDER_ENABLED if enabled else ev.ADMIN_PROVIDER_DISABLED
        audit.record(operator, event_type, f"provider {provider.name}")
    return providers.sync_prices(provider.name) if enabled else {}


def sync(operator: audit.Operator, name: object = "") -> dict[str, int]:
    """Pull prices and stock now from one provider, or every enabled one: per provider the number
    of prices, -1 if its upstream failed (its previous prices stay), -2 if it is disabled."""
    target = _get(name).name if str(name or "").strip() else None
    result = providers.sync_prices(target)
    with events.recording(operator.user_id):
        what = f"provider {target}" if target else "every provider"
        audit.record(operator, ev.ADMIN_PRICES_SYNCED, what, result=result)
    return result
