"""What the matcher needs from storage (the DynamoDB adapter and the in-memory one both provide it;
tests/integration/test_matcher_store_contract.py holds them to the same contract). Two reads per
batch: the stock's state with the messages' orders, then the counterparties once matched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from exchange.domain.batch import BatchCommit
from exchange.domain.candles import Candle, CandleKey
from exchange.domain.records import Holding, Order, Stock, StoredBook


@dataclass(frozen=True)
class Loaded:
    book: StoredBook | None
    stock: Stock | None
    orders: dict[str, Order] = field(default_factory=dict)  # by id: those found


@dataclass(frozen=True)
class Counterparties:
    orders: dict[str, Order] = field(default_factory=dict)  # the makers found, by id
    holdings: dict[str, Holding] = field(default_factory=dict)  # every user asked for
    candles: dict[CandleKey, Candle] = field(default_factory=dict)  # the candles asked for that exist


class MatcherStore(Protocol):
    def load(self, symbol: str, refs: Sequence[tuple[str, str]]) -> Loaded:
        """The stock's book and stock items and the (user_id, order_id) orders, in one strongly
        consistent read."""

    def resting_orders(self, symbol: str) -> list[Order]:
        """The orders resting in the stock's book, in arrival sequence (an index: may lag)."""

    def counterparties(
        self,
        symbol: str,
        makers: Sequence[tuple[str, str]],
        user_ids: Sequence[str],
        candles: Sequence[CandleKey] = (),
    ) -> Counterparties:
        """The (user_id, order_id) maker orders, the users' holdings of the stock (``exists``
        False where there is none) and the stock's ``candles`` (those that exist), in one strongly
        consistent read."""

    def commit(self, batch: BatchCommit) -> None:
        """Write the batch in one transaction, conditional on what it was computed from; raises
        ``StaleState`` (and writes nothing) if any of it no longer holds."""
