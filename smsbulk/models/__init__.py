from .activations import Activation, Sms
from .catalog import Country, Price, Provider, Service
from .ledger import LedgerEntry
from .users import ApiKey, KeyDailyUsage, User, Wallet

ALL_MODELS = (User, Wallet, ApiKey, KeyDailyUsage, Country, Service, Provider, Price, Activation, Sms, LedgerEntry)

__all__ = [
    "ALL_MODELS",
    "Activation",
    "ApiKey",
    "Country",
    "KeyDailyUsage",
    "LedgerEntry",
    "Price",
    "Provider",
    "Service",
    "Sms",
    "User",
    "Wallet",
]
