"""Admin: list a stock, deposit cash, grant shares, halt and resume a stock's trading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.domain.errors import NotFound, TemporarilyUnavailable, UnknownSymbol
from exchange.ids import new_id, now_ms
from exchange.messages import MessageKind, OrderMessage
from exchange.observability import logger


@dataclass
class Admin:
    store: ExchangeStore
    queue: OrdersQueue | None = None  # halts and resumes go through the stock's FIFO sequence

    def set_trading(self, admin_id: str, symbol: str, kind: MessageKind, reason: str | None) -> None:
        """Send a halt or resume into the stock's sequence: the matcher applies it in order (every
        order sequenced before it is handled as before) and stores ``Stock.status``. Not stored
        first: a failed send is a 503 and nothing happened (the admin sends it again)."""
        if self.store.stock(symbol) is None:
            raise UnknownSymbol(f"no stock {symbol}")
        assert self.queue is not None and kind in ("halt", "resume")
        request_id = new_id()
        message = OrderMessage(kind=kind, symbol=symbol, order_id=request_id, user_id=admin_id, reason=reason)
        try:
            self.queue.send(message, dedup_id=f"{kind}-{request_id}")
        except Exception as exc:
            logger.exception("halt/resume send failed", symbol=symbol, kind=kind)
            raise TemporarilyUnavailable("the stock's sequence could not be reached") from exc
        logger.info("trading status change sent", symbol=symbol, kind=kind, request_id=request_id)

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
