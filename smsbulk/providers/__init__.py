"""Provider adapters, built from the `provider` table rows the operator configures."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import ProviderAdapter

# kind -> factory(row, app config, redis connection, {country id: ISO code})
AdapterFactory = Callable[..., ProviderAdapter]


def _simulator(row, config: Mapping, connection, countries) -> ProviderAdapter:
    from .simulator import SimulatorProvider

    return SimulatorProvider(
        connection,
        countries,
        sms_delay=config["SIMULATOR_SMS_DELAY_SECONDS"],
        no_numbers_rate=config["SIMULATOR_NO_NUMBERS_RATE"],
        error_rate=config["SIMULATOR_ERROR_RATE"],
        name=row.name,
    )


KINDS: dict[str, AdapterFactory] = {"simulator": _simulator}


def build_adapter(row, config: Mapping, connection, countries: dict[int, str]) -> ProviderAdapter:
    return KINDS[row.kind](row, config, connection, countries)
