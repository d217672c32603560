"""Admin: list a stock, deposit cash, grant shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import NotFound, UnknownSymbol
from exchange.ids import now_ms


@dataclass
class Admin:
    store: ExchangeStore

    def list_stock(self, symbol: str, name: str, reference_price: int, tick: int) -> dict[str, Any]:
        now = now_ms()
        stock = {
            "symbol": symbol,
            "name": name,
            "reference_price": reference_price,
            "tick": tick,
            "trade_seq": 0,
            "volume": 0,
            "created_at": now,
            "updated_at": now,
        }
        book = {
            "symbol": symbol,
            "version": 1,
            "sequence": 1,
            "next_seq": 1,
            "bids": "[]",
            "asks": "[]",
            "events": "[]",
            "updated_at": now,
        }
        self.store.create_stock(stock, book)
        return stock

    def deposit(self, user_id: str, amount: int) -> dict[str, Any]:
        if self.store.profile(user_id) is None:
            raise NotFound("no such user")
        return self.store.deposit(user_id, amount, now_ms())

    def grant(self, user_id: str, symbol: str, quantity: int) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.store.profile(user_id) is None:
            raise NotFound("no such user")
        stock = self.store.stock(symbol)
        if stock is None:
            raise UnknownSymbol(f"no stock {symbol}")
        last = stock.get("last_price")
        holding = self.store.grant(
            user_id,
            symbol,
            quantity,
            quantity * int(stock["reference_price"]),
            now_ms(),
            int(last) if last is not None else None,
        )
        return holding, stock
