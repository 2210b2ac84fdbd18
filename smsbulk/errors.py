"""Every domain error, declared once, with its REST status and its legacy protocol token.

Services raise these; the REST and legacy blueprints only render them.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400
    legacy_token = "ERROR_SQL"
    message = "Request failed"

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details

    def legacy_answer(self) -> str:
        return self.legacy_token

    def legacy_info(self) -> dict | None:
        """The `info` object of a rent error's JSON (reference §4.4), where it has one."""
        return None

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message, **self.details}


# Input errors answer BAD_DATA on the legacy endpoint when the protocol has no closer token:
# ERROR_SQL is kept for a real failure of the database (InternalError).
class BadRequest(DomainError):
    code, http_status, legacy_token = "bad_request", 400, "BAD_DATA"
    message = "The request is malformed"


class PayloadTooLarge(DomainError):
    code, http_status, legacy_token = "payload_too_large", 413, "BAD_DATA"
    message = "The request body is too large"


class UriTooLong(DomainError):
    code, http_status, legacy_token = "uri_too_long", 414, "BAD_DATA"
    message = "The request URL is too long"


class HeadersTooLarge(DomainError):
    code, http_status, legacy_token = "headers_too_large", 431, "BAD_DATA"
    message = "The request headers are too large"


class UnsupportedMediaType(DomainError):
    code, http_status, legacy_token = "unsupported_media_type", 415, "BAD_DATA"
    message = "Send the request body as JSON, with Content-Type: application/json"


class IdempotencyKeyReused(DomainError):
    code, http_status, legacy_token = "idempotency_key_reused", 422, "ORDER_ALREADY_EXISTS"
    message = "This idempotency key was used for a different request"


class IdempotencyKeyInUse(DomainError):
    """A request with the same key is still running: retry in a moment to get its answer."""

    code, http_status, legacy_token = "idempotency_key_in_use", 409, "ORDER_ALREADY_EXISTS"
    message = "A request with this idempotency key is still in progress"


class BadKey(DomainError):
    code, http_status, legacy_token = "invalid_api_key", 401, "BAD_KEY"
    message = "Missing or invalid API key"


class NoBalance(DomainError):
    code, http_status, legacy_token = "insufficient_balance", 402, "NO_BALANCE"
    message = "Not enough money in the wallet"


class GuardrailExceeded(DomainError):
    code, http_status, legacy_token = "guardrail_reached", 403, "CHANNELS_LIMIT"
    message = "This API key reached its daily purchase or spend limit"


class Forbidden(DomainError):
    code, http_status, legacy_token = "forbidden", 403, "BAD_KEY"
    message = "Not allowed"


class InsufficientScope(DomainError):
    """The key lacks the scope the call needs. The protocol has no such notion: its closest
    token is BAD_KEY, the one every client knows on every action (docs/migration.md says why)."""

    code, http_status, legacy_token = "insufficient_scope", 403, "BAD_KEY"
    message = "This API key does not have the scope this call needs"


class ActivationNotFound(DomainError):
    code, http_status, legacy_token = "activation_not_found", 404, "NO_ACTIVATION"
    message = "No such activation"


class UnknownService(DomainError):
    code, http_status, legacy_token = "unknown_service", 404, "BAD_SERVICE"
    message = "Unknown service code"


class UnknownCountry(DomainError):
    code, http_status, legacy_token = "unknown_country", 404, "BAD_COUNTRY"
    message = "Unknown country"


class BadStatus(DomainError):
    code, http_status, legacy_token = "invalid_state", 409, "BAD_STATUS"
    message = "The activation is not in a state that allows this"


class EarlyCancelDenied(DomainError):
    code, http_status, legacy_token = "early_cancel_denied", 409, "EARLY_CANCEL_DENIED"
    message = "An activation cannot be cancelled this soon after purchase"


class PriceTooHigh(DomainError):
    code, http_status, legacy_token = "max_price_too_low", 409, "WRONG_MAX_PRICE"
    message = "No number is available at or below the given maximum price"

    def legacy_answer(self) -> str:
        return f"{self.legacy_token}:{self.details.get('minPrice', '')}"


class QuotaExceeded(DomainError):
    code, http_status, legacy_token = "rate_limit_exceeded", 429, "RATE_LIMITED"
    message = "Daily API limit reached"


class NoNumbers(DomainError):
    code, http_status, legacy_token = "no_numbers", 503, "NO_NUMBERS"
    message = "No numbers available for this service and country"


class KeyLimitReached(DomainError):
    code, http_status, legacy_token = "key_limit_reached", 409, "ERROR_SQL"
    message = "An account can have at most 10 active API keys"


class KeyNotFound(DomainError):
    code, http_status, legacy_token = "key_not_found", 404, "ERROR_SQL"
    message = "No such API key"


class KeyNotActive(DomainError):
    code, http_status, legacy_token = "key_not_active", 409, "ERROR_SQL"
    message = "The API key is revoked or expired"


class LoginFailed(DomainError):
    # One answer for an unknown email and a wrong password: the form tells nobody which emails exist.
    code, http_status, legacy_token = "invalid_credentials", 401, "BAD_KEY"
    message = "Wrong email or password"


class LoginLocked(DomainError):
    code, http_status, legacy_token = "login_locked", 429, "RATE_LIMITED"
    message = "Too many failed logins: try again later"


class SignupClosed(DomainError):
    code, http_status, legacy_token = "signup_closed", 403, "BAD_ACTION"
    message = "Sign-up is closed: ask an operator for an account"


class NotFound(DomainError):
    code, http_status, legacy_token = "not_found", 404, "BAD_ACTION"
    message = "Not found"


class InternalError(DomainError):
    code, http_status, legacy_token = "internal_error", 500, "ERROR_SQL"
    message = "Internal error"


class UnknownAction(DomainError):
    code, http_status, legacy_token = "unknown_action", 400, "BAD_ACTION"
    message = "Unknown action"


class WrongActivationId(DomainError):
    code, http_status, legacy_token = "invalid_activation_id", 400, "WRONG_ACTIVATION_ID"
    message = "The activation id is missing or not a number"


class UnknownStatusCode(DomainError):
    code, http_status, legacy_token = "unknown_status_code", 422, "BAD_STATUS"
    message = "Unknown status code"


class WrongExceptionPhone(DomainError):
    code, http_status, legacy_token = "invalid_phone_exception", 422, "WRONG_EXCEPTION_PHONE"
    message = "phoneException must be prefixes of 4 to 12 digits, comma-separated"


class OrderAlreadyExists(DomainError):
    code, http_status, legacy_token = "order_already_exists", 409, "ORDER_ALREADY_EXISTS"
    message = "An activation with this orderId exists"


class WrongDate(DomainError):
    code, http_status, legacy_token = "invalid_date_range", 422, "WRONG_DATE"
    message = "start and end must be unix seconds, start before end, at most 30 days apart"


class OperatorsNotFound(DomainError):
    code, http_status, legacy_token = "operators_not_found", 404, "OPERATORS_NOT_FOUND"
    message = "Unknown country: no operators"


class RentalNotFound(DomainError):
    # The protocol's INVALID_PHONE: "the number was not rented by you (wrong rental id)".
    code, http_status, legacy_token = "rental_not_found", 404, "INVALID_PHONE"
    message = "No such rental"


class WrongRentalId(DomainError):
    code, http_status, legacy_token = "invalid_rental_id", 400, "NO_ID_RENT"
    message = "The rental id is missing or not a number"


class InvalidRentHours(DomainError):
    code, http_status, legacy_token = "invalid_rent_hours", 422, "INVALID_TIME"
    message = "The rental length must be a whole number of hours within the allowed range"


class MaxHoursExceeded(DomainError):
    code, http_status, legacy_token = "max_hours_exceeded", 409, "MAX_HOURS_EXCEED"
    message = "A rental cannot be held this long; maxHours is what may still be added"

    def legacy_info(self) -> dict | None:
        return {"max": self.details.get("maxHours", 0)}


class ExtensionUnavailable(MaxHoursExceeded):
    # The provider holding the number cannot extend it: no hour may be added (MAX_HOURS_EXCEED, max 0).
    code, http_status = "extension_unavailable", 409
    message = "The provider of this number cannot extend a rental"


class RentalOver(DomainError):
    code, http_status, legacy_token = "rental_over", 409, "RENT_DIE"
    message = "The rental has ended"


class RentalFinished(DomainError):
    code, http_status, legacy_token = "rental_finished", 409, "ALREADY_FINISH"
    message = "The rental is finished already"


class RentalCanceled(DomainError):
    code, http_status, legacy_token = "rental_canceled", 409, "ALREADY_CANCEL"
    message = "The rental is cancelled already"


class RentCancelWindowOver(DomainError):
    code, http_status, legacy_token = "cancel_window_over", 409, "CANT_CANCEL"
    message = "A rental can be cancelled only within 20 minutes of its start and before any SMS"


class UnknownRentStatus(DomainError):
    code, http_status, legacy_token = "unknown_rent_status", 422, "INCORECT_STATUS"  # sic: the protocol's token
    message = "Unknown rental status code: 1 finishes, 2 cancels"


class NoRentals(DomainError):
    # getRentList with nothing rented: the protocol's NO_NUMBERS (§4.4).
    code, http_status, legacy_token = "no_rentals", 404, "NO_NUMBERS"
    message = "No active rentals"


class OutOfStock(DomainError):
    code, http_status, legacy_token = "out_of_stock", 503, "OUT_OF_STOCK"
    message = "No numbers to rent in this country"


class ReactivationUnavailable(DomainError):
    code, http_status, legacy_token = "reactivation_unavailable", 409, "RENEW_ACTIVATION_NOT_AVAILABLE"
    message = "This number cannot be bought again now"


class ReactivationFailed(DomainError):
    code, http_status, legacy_token = "reactivation_failed", 503, "NEW_ACTIVATION_IMPOSSIBLE"
    message = "The provider would not sell this number again now; nothing was charged"


class WebhookNotFound(DomainError):
    code, http_status, legacy_token = "webhook_not_found", 404, "BAD_DATA"
    message = "No such webhook"


class WebhookUrlRefused(DomainError):
    # The SSRF guard (services/urlguard.py): https only, and no host that resolves inside.
    code, http_status, legacy_token = "webhook_url_refused", 422, "BAD_DATA"
    message = "This URL cannot receive webhooks"


class WebhookLimitReached(DomainError):
    code, http_status, legacy_token = "webhook_limit_reached", 409, "BAD_DATA"
    message = "An account can have at most 10 webhooks"


class FeatureUnavailable(DomainError):
    """Rent, voice, forwarding and multi-service numbers: each answers its protocol token."""

    code, http_status, legacy_token = "feature_unavailable", 501, "BAD_ACTION"
    message = "This feature is not available"

    def __init__(self, token: str = "BAD_ACTION", http_status: int = 501, **details: object) -> None:
        super().__init__(**details)
        self.legacy_token = token
        self.http_status = http_status


def _every(cls: type[DomainError]) -> tuple[type[DomainError], ...]:
    return tuple(sub for direct in cls.__subclasses__() for sub in (direct, *_every(direct)))


ERROR_TABLE: tuple[type[DomainError], ...] = _every(DomainError)
_BY_STATUS = {cls.http_status: cls for cls in (PayloadTooLarge, UriTooLong, HeadersTooLarge, UnsupportedMediaType)}


def for_http_status(status: int, message: str | None = None) -> DomainError:
    """The error of a request refused before a view could run (too large, unreadable)."""
    error = _BY_STATUS.get(status, BadRequest)(message)
    error.http_status = status
    return error
