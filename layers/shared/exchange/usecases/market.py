"""Public market data: stocks, order books, trades, candles. Never names a user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import UnknownSymbol
from exchange.domain.money import format_cents
from exchange.ids import iso_ms, now_ms, trading_day
from exchange.views import book_view, stock_view, trade_view

INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000}


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
        self._stock(symbol)
        step = INTERVAL_MS[interval]
        to_ms = to_ms if to_ms is not None else now_ms()
        from_ms = from_ms if from_ms is not None else to_ms - 100 * step
        buckets: dict[int, dict[str, Any]] = {}
        for t in sorted(self.store.trades_between(symbol, from_ms, to_ms), key=lambda t: int(t["seq"])):
            start = int(t["executed_at"]) // step * step
            price, qty = int(t["price"]), int(t["quantity"])
            c = buckets.get(start)
            if c is None:
                buckets[start] = {
                    "start": start,
                    "open": price,
                    "high": price,
                    "low": price,
                    "close": price,
                    "volume": qty,
                }
            else:
                c["high"] = max(c["high"], price)
                c["low"] = min(c["low"], price)
                c["close"] = price
                c["volume"] += qty
        return [
            {
                "start": iso_ms(c["start"]),
                **{k: format_cents(c[k]) for k in ("open", "high", "low", "close")},
                "volume": c["volume"],
            }
            for _, c in sorted(buckets.items())
        ]
