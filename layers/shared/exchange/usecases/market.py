"""Public market data: stocks, order books, trades, candles. Never names a user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exchange.adapters.candle_store import CandleStore
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.candles import INTERVALS, combine, from_trades, window
from exchange.domain.errors import TemporarilyUnavailable, UnknownSymbol
from exchange.ids import now_ms, trading_day
from exchange.observability import logger
from exchange.views import book_view, candle_view, stock_view, trade_view


@dataclass
class Market:
    store: ExchangeStore
    close_minute_utc: int = 0

    def _today(self) -> str:
        return trading_day(now_ms(), self.close_minute_utc)

    def stocks(self) -> list[dict[str, Any]]:
        stocks = self.store.stocks()
        books = self.store.books([s["symbol"] for s in stocks]) if stocks else {}
        today = self._today()
        return [
            stock_view(s, books.get(s["symbol"]), today) for s in sorted(stocks, key=lambda s: s["symbol"])
        ]

    def _stock(self, symbol: str) -> dict[str, Any]:
        stock = self.store.stock(symbol)
        if stock is None:
            raise UnknownSymbol(f"no stock {symbol}")
        return stock

    def stock(self, symbol: str) -> dict[str, Any]:
        return stock_view(self._stock(symbol), self.store.book(symbol), self._today())

    def orderbook(self, symbol: str, depth: int) -> dict[str, Any]:
        self._stock(symbol)
        return book_view(symbol, self.store.book(symbol), depth)

    def trades(self, symbol: str, limit: int) -> list[dict[str, Any]]:
        self._stock(symbol)
        return [trade_view(t) for t in self.store.trades(symbol, limit)]

    def candles(
        self, symbol: str, interval: str, from_ms: int | None, to_ms: int | None
    ) -> list[dict[str, Any]]:
        """The whole candles of the intervals that overlap [from, to] and had trades, oldest first,
        read from the candles the matcher keeps (never from the trades): O(candles returned)."""
        stock = self._stock(symbol)
        step = INTERVALS[interval]
        to_ms = to_ms if to_ms is not None else now_ms()
        from_ms = from_ms if from_ms is not None else to_ms - 100 * step
        span = window(interval, from_ms, to_ms)
        if span is None:
            return []
        store = self.candle_store
        backfilled = ensure_backfilled(store, symbol, stock, reread=self.store.stock)
        found = store.candles(symbol, interval, *span)
        if backfilled:
            found = combine(store.candles(symbol, interval, *span, backfilled=True), found)
        return [candle_view(c) for c in found]

    @property
    def candle_store(self) -> CandleStore:
        return CandleStore(self.store.table)


BACKFILL_ROUNDS = 3


def backfilled_through(stock: dict[str, Any]) -> tuple[int, int]:
    """(the last trade the matcher did not aggregate into candles, the last one backfilled)."""
    first = stock.get("candles_from")
    older = int(first) - 1 if first is not None else int(stock.get("trade_seq", 0))
    return older, int(stock.get("candles_backfilled", 0))


def ensure_backfilled(
    store: CandleStore, symbol: str, stock: dict[str, Any], reread: Callable[[str], dict[str, Any] | None]
) -> int:
    """A stock that traded before the matcher kept candles gets the candles of those trades once
    (their own partition: they never change, so the matcher's candles are never rewritten); returns
    the last trade they hold (0: none). Safe to run twice or at once."""
    older, done = backfilled_through(stock)
    for _ in range(BACKFILL_ROUNDS):
        if older <= done:
            return done
        trades = store.trades_through(symbol, older)
        for interval in INTERVALS:
            store.put_backfilled(symbol, from_trades(trades, interval))
        if store.mark_backfilled(symbol, older):
            logger.info("candles backfilled", symbol=symbol, trades=len(trades), through_seq=older)
            return older
        older, done = backfilled_through(reread(symbol) or {})
    raise TemporarilyUnavailable("the stock's candles are being prepared; try again")
