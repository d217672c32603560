"""Writes that meet a concurrent transaction: after the table's own retries (adapters/dynamo.py), a
clean 503 (``TemporarilyUnavailable``, answered with Retry-After) rather than a 500 — nothing was
written, so the client may simply send it again."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from exchange.adapters.dynamo import TransactionConflict
from exchange.domain.errors import TemporarilyUnavailable

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_when_busy(message: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except TransactionConflict as exc:
                raise TemporarilyUnavailable(message) from exc

        return wrapper

    return decorate
