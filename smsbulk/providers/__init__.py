"""Provider adapters, built from the `provider` table rows the operator configures."""

from __future__ import annotations

from collections.abc import Callable, Mapping

# The adapters are imported when first built: the web, which quotes from the database and builds
# none on the hot paths, then never loads an HTTP client library (several MB per process).
from .base import DEFAULT_TIMEOUT, ProviderAdapter

# kind -> factory(row, app config, redis connection, {country id: ISO code})
AdapterFactory = Callable[..., ProviderAdapter]


def _timeout(config: Mapping) -> float:
    """PROVIDER_TIMEOUT_SECONDS, for connecting and for reading each answer."""
    return float(config.get("PROVIDER_TIMEOUT_SECONDS", DEFAULT_TIMEOUT))


def _simulator(row, config: Mapping, connection, countries) -> ProviderAdapter:
    from .simulator import SimulatorProvider

    return SimulatorProvider(
        connection,
        countries,
        sms_delay=config["SIMULATOR_SMS_DELAY_SECONDS"],
        no_numbers_rate=config["SIMULATOR_NO_NUMBERS_RATE"],
        error_rate=config["SIMULATOR_ERROR_RATE"],
        name=row.name,
        rent_sms_every=config["SIMULATOR_RENT_SMS_INTERVAL_SECONDS"],
    )


def _sms_activate(row, config: Mapping, connection, countries) -> ProviderAdapter:
    from .sms_activate import SmsActivateProvider

    return SmsActivateProvider(row.base_url, row.api_key, timeout=_timeout(config))


def _fivesim(row, config: Mapping, connection, countries) -> ProviderAdapter:
    from .fivesim import DEFAULT_BASE_URL, FiveSimProvider

    return FiveSimProvider(row.api_key, base_url=row.base_url or DEFAULT_BASE_URL, timeout=_timeout(config))


KINDS: dict[str, AdapterFactory] = {"simulator": _simulator, "sms-activate": _sms_activate, "5sim": _fivesim}


def build_adapter(row, config: Mapping, connection, countries: dict[int, str]) -> ProviderAdapter:
    return KINDS[row.kind](row, config, connection, countries)
