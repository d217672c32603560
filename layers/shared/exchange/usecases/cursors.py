"""Paging cursors: an opaque base64url form of DynamoDB's LastEvaluatedKey, accepted back only for
the partition it came from (a cursor can never page into another user's items)."""

from __future__ import annotations

import base64
import json
from typing import Any

from exchange import json_limits
from exchange.domain.errors import ValidationFailed


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid", "type": "invalid_cursor"}]
    )


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition: tuple[str, str]) -> dict[str, Any] | None:
    """The start key in ``cursor``; ``partition`` = (attribute, value) it must belong to."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        # json_limits: a forged cursor nested 1,000 levels deep is invalid, not a RecursionError
        key = json_limits.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except ValueError as exc:
        raise invalid_cursor() from exc
    if not isinstance(key, dict) or not all(isinstance(v, str | int) for v in key.values()):
        raise invalid_cursor()
    attribute, value = partition
    if key.get(attribute) != value:
        raise invalid_cursor()
    return key
