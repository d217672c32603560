"""Which positions of a sorted key list a Query's sort-key condition can match (moto_index.py):
pure bisection over (sort value, ...) tuples."""

from __future__ import annotations

import bisect
from typing import Any


def prefix_end(prefix: str) -> str | None:
    chars = list(prefix)
    while chars:
        if ord(chars[-1]) < 0x10FFFF:
            chars[-1] = chr(ord(chars[-1]) + 1)
            return "".join(chars)
        chars.pop()
    return None


def key_range(entries: list[tuple[Any, ...]], op: str | None, values: list[Any]) -> tuple[int, int]:
    """Positions [lo, hi) holding every entry whose first sort value can satisfy the condition."""
    n = len(entries)
    if op is None:
        return 0, n

    def left(v: Any) -> int:
        return bisect.bisect_left(entries, v, key=lambda t: t[0])

    def right(v: Any) -> int:
        return bisect.bisect_right(entries, v, key=lambda t: t[0])

    if op == "=":
        return left(values[0]), right(values[0])
    if op == "<":
        return 0, left(values[0])
    if op == "<=":
        return 0, right(values[0])
    if op == ">":
        return right(values[0]), n
    if op == ">=":
        return left(values[0]), n
    if op == "BETWEEN":
        lo = left(values[0])
        return lo, max(lo, right(values[1]))
    # BEGINS_WITH, on strings only (checked by the caller)
    end = prefix_end(values[0])
    lo = left(values[0])
    return lo, max(lo, left(end) if end is not None else n)
