"""Domain errors. Each names what went wrong in the domain's terms; the API maps them to HTTP in
exactly one place (`atelier.api.errors`)."""

from __future__ import annotations

from typing import Any


class AtelierError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, details: Any = None, retry_after_seconds: int | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details
        self.retry_after_seconds = retry_after_seconds


class MalformedRequestError(AtelierError):
    code = "malformed_request"
    default_message = "The request could not be read."


class SignInFailedError(MalformedRequestError):
    code = "sign_in_failed"
    default_message = "Sign-in could not be completed; start again."


class NotSignedInError(AtelierError):
    code = "not_signed_in"
    default_message = "Sign in to continue."


class InsufficientCreditsError(AtelierError):
    code = "insufficient_credits"
    default_message = "Not enough credits."


class ForbiddenError(AtelierError):
    code = "forbidden"
    default_message = "You are not allowed to do that."


class ForbiddenOriginError(ForbiddenError):
    code = "forbidden_origin"
    default_message = "Requests from this origin are not allowed."


class ConsentRequiredError(ForbiddenError):
    code = "consent_required"
    default_message = "Accept the current terms and confirm your age first."


class AccountRestrictedError(ForbiddenError):
    code = "account_restricted"
    default_message = "This account is restricted."


class AccountSuspendedError(ForbiddenError):
    code = "account_suspended"
    default_message = "This account is suspended by moderation; it can still read, export and delete its data."


class NotFoundError(AtelierError):
    code = "not_found"
    default_message = "Not found."


class ConflictError(AtelierError):
    code = "conflict"
    default_message = "The request conflicts with the current state."


class PayloadTooLargeError(AtelierError):
    code = "payload_too_large"
    default_message = "The request is too large."


class UnsupportedMediaTypeError(AtelierError):
    code = "unsupported_media_type"
    default_message = "Send the request body as JSON, with Content-Type: application/json."


class InvalidFieldError(AtelierError):
    code = "invalid_field"
    default_message = "A field is invalid."


class RateLimitedError(AtelierError):
    code = "rate_limited"
    default_message = "Too many requests; try again later."


class SpendCapExceededError(AtelierError):
    code = "spend_cap_exceeded"
    default_message = "This would pass the monthly spend cap."


class DependencyUnavailableError(AtelierError):
    code = "service_unavailable"
    default_message = "A service Atelier depends on is unavailable; try again shortly."
    # A throttled table or a failing dependency usually recovers within seconds; clients (and
    # webhook senders) are told when to try again rather than left to guess.
    default_retry_after_seconds = 5

    def __init__(self, message: str | None = None, *, details: Any = None, retry_after_seconds: int | None = None):
        super().__init__(
            message, details=details, retry_after_seconds=retry_after_seconds or self.default_retry_after_seconds
        )
