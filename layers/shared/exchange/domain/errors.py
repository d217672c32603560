"""Domain errors: raised below, turned into the contract's error envelope in one place (the api)."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base: ``kind`` picks the HTTP status at the edge, ``code`` is the contract's error code."""

    kind: ClassVar[str] = "invalid"
    code: ClassVar[str] = "invalid_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code  # type: ignore[misc]


class NotFound(DomainError):
    kind = "not_found"
    code = "not_found"


class UnknownSymbol(NotFound):
    code = "unknown_symbol"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"


class BusinessRuleViolation(DomainError):
    kind = "unprocessable"
    code = "validation_error"


class InsufficientFunds(BusinessRuleViolation):
    code = "insufficient_funds"


class InsufficientShares(BusinessRuleViolation):
    code = "insufficient_shares"


class NoLiquidity(BusinessRuleViolation):
    code = "no_liquidity"


class ValidationFailed(BusinessRuleViolation):
    code = "validation_error"


class Unauthorized(DomainError):
    kind = "unauthorized"
    code = "unauthorized"


class Forbidden(DomainError):
    kind = "forbidden"
    code = "forbidden"


class TooManyAttempts(DomainError):
    kind = "throttled"
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporarilyUnavailable(DomainError):
    """The write met contention (a DynamoDB transaction conflict) beyond its bounded retries; nothing
    was written and the same request can be sent again after ``retry_after`` seconds (503)."""

    kind = "unavailable"
    code = "temporarily_unavailable"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StaleState(Exception):
    """A conditional write found state other than expected (retry or treat as already done)."""
