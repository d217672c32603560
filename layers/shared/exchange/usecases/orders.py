"""Place, read, list and cancel orders (the api side: reserve, then enqueue to the stock's FIFO group)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exchange import keys
from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.domain.errors import (
    Conflict,
    NoLiquidity,
    NotFound,
    StaleState,
    UnknownSymbol,
    ValidationFailed,
)
from exchange.domain.money import collar_bound
from exchange.ids import new_id, now_ms
from exchange.messages import MessageKind, OrderMessage
from exchange.observability import logger
from exchange.usecases.cursors import decode_cursor, encode_cursor, invalid_cursor
from exchange.views import book_levels

# How long a container trusts what it read of a stock that does not change (it is listed, its tick)
# for a limit buy, which needs nothing else of the STOCK item. Stocks are never changed or delisted
# today; the TTL is short so that a later rule that does change them (a halt, a delisting, a new
# tick) is seen within seconds without anyone remembering this cache (docs/decisions.md). A halt:
# a cached ``trading`` may serve a limit buy for up to the TTL after it (the matcher then rejects
# the order: the contract's "accepted before the api knew"); a cached ``halted`` is never served
# (the next order reads the stock again, so a resume is seen at once).
LISTED_TTL_S = 10.0


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: str  # buy | sell
    order_type: str  # limit | market | stop | stop_limit
    quantity: int
    limit_price: int | None  # cents, already validated as a positive number
    tif: str
    client_order_id: str | None
    stop_price: int | None = None  # stop | stop_limit: cents, a positive number


@dataclass
class Orders:
    store: ExchangeStore
    queue: OrdersQueue
    clock: Callable[[], float] = time.monotonic
    # symbol -> (read at, tick) of a trading stock: per container (the api builds one per container)
    _listed: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    def place(self, user_id: str, req: OrderRequest) -> tuple[dict[str, Any], bool]:
        """Returns (order item, created). An existing client_order_id with the same parameters
        returns that order (created False); with other parameters, 409."""
        if req.client_order_id:
            existing = self._by_client_id(user_id, req)
            if existing is not None:
                return existing, False
        # a limit buy needs only the stock's existence and tick; a sell marks its holding at the
        # last price and a market order bounds its reservation by it: those read the stock fresh
        stock = None if req.order_type == "limit" and req.side == "buy" else self._stock(req.symbol)
        tick = self._tick(req.symbol) if stock is None else int(stock["tick"])
        price_bound = None
        if req.stop_price is not None:
            _on_tick("stop_price", req.stop_price, tick)
        if req.order_type in ("limit", "stop_limit"):
            assert req.limit_price is not None
            _on_tick("limit_price", req.limit_price, tick)
            reservation_price = req.limit_price
        elif req.order_type == "stop":
            # the collar is fixed at placement, from the stop price (not a market order yet: no
            # no_liquidity check, the book may fill up before it triggers)
            assert req.stop_price is not None
            price_bound = collar_bound(req.stop_price, tick, buy=req.side == "buy")
            reservation_price = price_bound
        else:
            bids, asks = book_levels(self.store.book(req.symbol))
            opposite = asks if req.side == "buy" else bids
            if not opposite:
                raise NoLiquidity("the opposite side of the book is empty")
            assert stock is not None
            reference = stock.get("last_price") or stock["reference_price"]
            price_bound = collar_bound(int(reference), tick, buy=req.side == "buy")
            reservation_price = price_bound
        last = None if stock is None else stock.get("last_price")
        now = now_ms()
        order_id = new_id()
        is_buy = req.side == "buy"
        order: dict[str, Any] = {
            "type": "order",
            "id": order_id,
            "user_id": user_id,
            "client_order_id": req.client_order_id,
            "symbol": req.symbol,
            "side": req.side,
            "order_type": req.order_type,
            "tif": req.tif,
            "quantity": req.quantity,
            "limit_price": req.limit_price,
            "stop_price": req.stop_price,
            "triggered_at": None,
            "reject_reason": None,
            "price_bound": price_bound,
            "reservation_price": reservation_price if is_buy else None,
            "filled_quantity": 0,
            "remaining_quantity": req.quantity,
            "fill_cost": 0,
            "status": "pending",
            "cancel_requested": False,
            "cancel_reason": None,
            "reserved_cash": reservation_price * req.quantity if is_buy else 0,
            "reserved_quantity": 0 if is_buy else req.quantity,
            "created_at": now,
            "updated_at": now,
            "pending_shard": keys.PENDING_SHARD,
            "pending_since": now,
            "open_user": user_id,  # sparse user_open_orders index: the matcher drops it when final
        }
        try:
            self.store.place_order(
                order,
                cash_amount=order["reserved_cash"],
                share_quantity=order["reserved_quantity"],
                mark_price=None if last is None else int(last),
            )
        except StaleState:
            # a concurrent request with the same client_order_id won the race
            existing = self._by_client_id(user_id, req)
            if existing is None:
                raise
            return existing, False
        self._enqueue_new(order)
        return order, True

    def _stock(self, symbol: str) -> dict[str, Any]:
        stock = self.store.stock(symbol)
        if stock is None:
            raise UnknownSymbol(f"no stock {symbol}")
        if stock.get("status") == "halted":
            self._listed.pop(symbol, None)
            raise Conflict(f"trading in {symbol} is halted", code="stock_halted")
        self._listed[symbol] = (self.clock(), int(stock["tick"]))
        return stock

    def _tick(self, symbol: str) -> int:
        """The stock's tick, read at most every LISTED_TTL_S per container; an unknown symbol is
        never remembered (a stock listed a moment ago is tradable at once)."""
        cached = self._listed.get(symbol)
        if cached is not None and self.clock() - cached[0] < LISTED_TTL_S:
            return cached[1]
        return int(self._stock(symbol)["tick"])

    def _enqueue_new(self, order: dict[str, Any]) -> None:
        # the order is reserved and stored as pending: if the send fails, the pending sweep sends it
        self._send("new", order, dedup_id=order["id"])

    def _send(self, kind: MessageKind, order: dict[str, Any], *, dedup_id: str) -> None:
        """Best effort: the stored state (pending, or cancel_requested, both in the pending index)
        is the promise; a lost send is repaired by the scheduler's sweep."""
        message = OrderMessage(
            kind=kind, symbol=order["symbol"], order_id=order["id"], user_id=order["user_id"]
        )
        try:
            self.queue.send(message, dedup_id=dedup_id)
        except Exception:
            logger.exception("enqueue failed; left for the pending sweep", order_id=order["id"], kind=kind)

    def _by_client_id(self, user_id: str, req: OrderRequest) -> dict[str, Any] | None:
        order_id = self.store.order_id_for_client_id(user_id, req.client_order_id or "")
        if order_id is None:
            return None
        order = self.store.order(user_id, order_id)
        if order is None:
            return None
        same = (
            order["symbol"],
            order["side"],
            order["order_type"],
            int(order["quantity"]),
            order.get("limit_price"),
            order["tif"],
            order.get("stop_price"),
        ) == (req.symbol, req.side, req.order_type, req.quantity, req.limit_price, req.tif, req.stop_price)
        if not same:
            raise Conflict("client_order_id was used for another order", code="duplicate_client_order_id")
        return order

    def get(self, user_id: str, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        order = self.store.order(user_id, order_id)
        if order is None:
            raise NotFound("no such order")
        return order, self.store.fills_of_order(user_id, order_id)

    def list(
        self, user_id: str, status: str, symbol: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; a page may hold fewer than ``limit`` orders with a next cursor (a filtered
        read examines a bounded number of items per request)."""
        start = decode_cursor(cursor, partition=("pk", keys.user(user_id)))
        # an open-list cursor is a key of the open index, the others of the partition
        if start is not None and start.get("open_user") != (user_id if status == "open" else None):
            raise invalid_cursor()
        page = self.store.orders(user_id, status, symbol, limit, start)
        return page.items, encode_cursor(page.last_key)

    def cancel(self, user_id: str, order_id: str) -> dict[str, Any]:
        """Store cancel_requested (202 from then on), then tell the stock's sequencer."""
        order = self.store.request_cancel(user_id, order_id, now_ms())
        self._send("cancel", order, dedup_id=f"cancel-{order_id}")
        return order


def _on_tick(name: str, price: int, tick: int) -> None:
    if price % tick:
        raise ValidationFailed(
            f"{name} must be a multiple of the tick size",
            details=[{"loc": ["body", name], "msg": "not a multiple of the tick", "type": "tick"}],
        )
