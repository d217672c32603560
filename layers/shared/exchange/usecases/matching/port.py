"""What the matcher needs from storage (the DynamoDB adapter and the in-memory one both provide it;
tests/integration/test_matcher_store_contract.py holds them to the same contract)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from exchange.domain.batch import BatchCommit
from exchange.domain.records import Holding, Order, Stock, StoredBook


class MatcherStore(Protocol):
    def book(self, symbol: str) -> StoredBook | None:
        """The stock's stored book (strongly consistent)."""

    def stock(self, symbol: str) -> Stock | None: ...

    def orders(self, refs: Sequence[tuple[str, str]]) -> dict[str, Order]:
        """(user_id, order_id) pairs -> the orders found, by id (strongly consistent)."""

    def resting_orders(self, symbol: str) -> list[Order]:
        """The orders resting in the stock's book, in arrival sequence (an index: may lag)."""

    def holdings(self, symbol: str, user_ids: Sequence[str]) -> dict[str, Holding]:
        """Every user asked for -> its holding of the stock (``exists`` False where there is none)."""

    def commit(self, batch: BatchCommit) -> None:
        """Write the batch in one transaction, conditional on what it was computed from; raises
        ``StaleState`` (and writes nothing) if any of it no longer holds."""
