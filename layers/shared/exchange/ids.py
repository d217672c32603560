"""Ids and clocks: ULIDs (sortable by creation time) and the contract's ISO-8601 times."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ulid import ULID


def new_id() -> str:
    return str(ULID())


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_ms(ms: int) -> str:
    """Epoch milliseconds -> "2026-11-25T12:00:00.123Z"."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(text: str) -> int:
    """ISO-8601 (Z or offset) -> epoch milliseconds."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def trading_day(ms: int, close_minute_utc: int = 0) -> str:
    """The trading day an instant belongs to; a day ends at the configured close (minutes after 00:00 UTC)."""
    shifted = ms - close_minute_utc * 60_000
    return datetime.fromtimestamp(shifted / 1000, tz=UTC).strftime("%Y-%m-%d")
