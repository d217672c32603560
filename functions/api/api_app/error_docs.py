"""The error codes of the contract (../shared/API.md), as the OpenAPI document shows them: per
operation, each status it can answer with, which ``code``s that status carries and when, and an
example envelope for each code.

Routes say which codes they can answer (``responses=errors("unknown_symbol", ...)``); the codes
every route of a kind can answer (a body's 400/413/415/422, a bearer token's 401) are named once
here (``BODY``, ``AUTH``). ``errors.document_errors`` makes every error response the envelope (and
drops the examples); ``docs.install`` puts an example back for each code a response's description
names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api_app.schemas import ErrorEnvelope


@dataclass(frozen=True)
class Code:
    status: int
    when: str
    message: str
    details: Any = None

    def example(self, code: str) -> dict[str, Any]:
        return {
            "summary": self.when,
            "value": {"error": {"code": code, "message": self.message, "details": self.details}},
        }


_FIELD = [
    {
        "loc": ["body", "quantity"],
        "msg": "Input should be greater than or equal to 1",
        "type": "greater_than_equal",
    }
]

CODES: dict[str, Code] = {
    "malformed_request": Code(400, "the body is not JSON, or not UTF-8", "the body is not valid JSON"),
    "unauthorized": Code(
        401, "no access token, a malformed one, or one that is not ours", "a bearer access token is required"
    ),
    "token_expired": Code(
        401,
        "the access token has expired: get a new one from POST /api/auth/refresh",
        "the access token has expired",
    ),
    "invalid_credentials": Code(
        401, "unknown email or wrong password (one answer for both)", "wrong email or password"
    ),
    "refresh_token_reused": Code(
        401,
        "the refresh token was already rotated: its whole family (every session of that login) is revoked",
        "the refresh token was already used; every session of this login has ended",
    ),
    "forbidden": Code(403, "authenticated, but the role is not admin", "admins only"),
    "csrf_failed": Code(
        403,
        "the X-CSRF-Token header is missing or differs from the csrf_token cookie (checked first)",
        "the X-CSRF-Token header must echo the csrf_token cookie",
    ),
    "not_found": Code(404, "no such resource, or another user's (never revealed)", "no such order"),
    "unknown_symbol": Code(404, "no stock with this symbol", "no stock ACME"),
    "email_taken": Code(
        409,
        "an account with this email exists (emails compare case-insensitively)",
        "an account with this email exists",
    ),
    "duplicate_client_order_id": Code(
        409,
        "this client_order_id names another order of yours with other parameters (the same parameters "
        "answer 200 with that order)",
        "client_order_id was used for another order",
    ),
    "order_not_cancellable": Code(
        409, "the order is already final (filled, cancelled, expired, rejected)", "the order is already final"
    ),
    "stock_exists": Code(409, "a stock with this symbol is already listed", "stock ACME exists"),
    "stock_halted": Code(
        409,
        "trading in the stock is halted (an admin's halt, until the resume): no order is made",
        "trading in ACME is halted",
    ),
    "payload_too_large": Code(
        413, "the body is over the size limit (16 KiB by default)", "the body is larger than 16384 bytes"
    ),
    "unsupported_media_type": Code(
        415, "the body's Content-Type is not application/json", "the body must be application/json"
    ),
    "validation_error": Code(
        422,
        "a field or parameter is not valid (or a rule on it: a price off the tick, from after to, a bad "
        "cursor): details lists each as {loc, msg, type}",
        "the request is not valid",
        _FIELD,
    ),
    "insufficient_funds": Code(
        422,
        "available cash is short of quantity x limit_price (a market buy: x its price_bound)",
        "available cash is short of the order's reservation",
    ),
    "insufficient_shares": Code(
        422,
        "available (not reserved) shares are short of the quantity",
        "available shares are short of the order's quantity",
    ),
    "no_liquidity": Code(
        422,
        "a market order, and the opposite side of the book is empty: no order is made",
        "the opposite side of the book is empty",
    ),
    "too_many_attempts": Code(
        429,
        "too many failed logins for this email (5) or from this address (20) in 15 minutes, even with the "
        "right password; Retry-After says how many seconds to wait",
        "too many failed logins; try again later",
    ),
    "temporarily_unavailable": Code(
        503,
        "a concurrent write met the same item beyond its retries; nothing was written: send it again "
        "after Retry-After seconds",
        "the account is busy with another change; try again",
    ),
    "not_ready": Code(503, "the stack is still starting", "the stack is starting"),
}

BODY = ("malformed_request", "payload_too_large", "unsupported_media_type", "validation_error")
AUTH = ("unauthorized", "token_expired")
ADMIN = (*AUTH, "forbidden")
# what document_errors adds to an operation that names none of the status's codes itself
DEFAULT_CODES: dict[str, tuple[str, ...]] = {
    "400": ("malformed_request",),
    "401": AUTH,
    "413": ("payload_too_large",),
    "415": ("unsupported_media_type",),
    "422": ("validation_error",),
    "503": ("temporarily_unavailable",),
}


def errors(*codes: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses``: one entry per status, its codes described, one example each."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(CODES[code].status, []).append(code)
    return {
        status: {
            "model": ErrorEnvelope,
            "description": described(group),
            "content": {"application/json": {"examples": examples(group)}},
        }
        for status, group in sorted(by_status.items())
    }


def described(codes: tuple[str, ...] | list[str]) -> str:
    """The description of a status that carries ``codes`` (docs.py reads the codes back from it)."""
    return "; ".join(f"`{c}`: {CODES[c].when}" for c in codes)


def examples(codes: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {c: CODES[c].example(c) for c in codes}
