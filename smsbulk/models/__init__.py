from .activations import Activation, Sms
from .admin import PriceOverride, WalletAdjustment
from .catalog import Country, Price, Provider, Service
from .events import Event
from .idempotency import IdempotentRequest
from .ledger import LedgerEntry
from .rentals import Rental, RentalCharge, RentalSms, RentPrice
from .users import ApiKey, KeyDailyUsage, User, Wallet
from .webhooks import Webhook, WebhookAttempt, WebhookMessage

ALL_MODELS = (
    User,
    Wallet,
    ApiKey,
    KeyDailyUsage,
    Country,
    Service,
    Provider,
    Price,
    Activation,
    Sms,
    Rental,
    RentalCharge,
    RentalSms,
    LedgerEntry,
    Event,
    RentPrice,
    Webhook,
    WebhookMessage,
    WebhookAttempt,
    IdempotentRequest,
    PriceOverride,
    WalletAdjustment,
)

__all__ = [
    "ALL_MODELS",
    "Activation",
    "ApiKey",
    "Country",
    "Event",
    "IdempotentRequest",
    "KeyDailyUsage",
    "LedgerEntry",
    "Price",
    "PriceOverride",
    "Provider",
    "RentPrice",
    "Rental",
    "RentalCharge",
    "RentalSms",
    "Service",
    "Sms",
    "User",
    "Wallet",
    "WalletAdjustment",
    "Webhook",
    "WebhookAttempt",
    "WebhookMessage",
]
