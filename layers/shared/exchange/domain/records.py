"""The matcher's typed records: orders, holdings, the stock, the stored book, trades and fills.

Plain values with integer cents and whole shares; no storage keys (the adapter maps them to and
from items). Attribute names are the stored ones, so a view can read a record like an item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    PENDING = "pending"  # accepted by the api, not yet taken by the matcher
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


STOP_TYPES = ("stop", "stop_limit")

# as plain strings: they go into storage conditions and filters
NON_FINAL: tuple[str, ...] = (
    OrderStatus.PENDING.value,
    OrderStatus.OPEN.value,
    OrderStatus.PARTIALLY_FILLED.value,
)
FINAL: tuple[str, ...] = (
    OrderStatus.FILLED.value,
    OrderStatus.CANCELLED.value,
    OrderStatus.EXPIRED.value,
    OrderStatus.REJECTED.value,
)


@dataclass
class Order:
    id: str
    user_id: str
    symbol: str
    side: str  # buy | sell
    order_type: str  # limit | market | stop | stop_limit
    tif: str
    quantity: int
    filled_quantity: int
    remaining_quantity: int
    status: str
    created_at: int
    updated_at: int
    limit_price: int | None = None
    price_bound: int | None = None
    reservation_price: int | None = None  # buy: cents reserved per share
    fill_cost: int = 0
    reserved_cash: int = 0
    reserved_quantity: int = 0
    cancel_requested: bool = False
    cancel_reason: str | None = None
    client_order_id: str | None = None
    book_seq: int | None = None  # set while the order rests in the book (its arrival sequence)
    stop_price: int | None = None  # stop / stop_limit orders
    triggered_at: int | None = None  # a stop order once triggered
    reject_reason: str | None = None  # "halted": refused by the matcher
    pending_since: int | None = None  # set while the order waits for the matcher (or its cancel does)
    extra: dict[str, Any] = field(default_factory=dict)  # stored attributes the matcher does not use

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def price(self) -> int:
        """The price the engine matches at most/least at: the limit, or a market order's bound."""
        price = self.limit_price if self.limit_price is not None else self.price_bound
        assert price is not None, f"order {self.id} has neither a limit price nor a price bound"
        return price

    @property
    def is_stop(self) -> bool:
        return self.order_type in STOP_TYPES

    @property
    def waiting(self) -> bool:
        """An untriggered stop order (open, kept outside the book)."""
        return self.order_type in STOP_TYPES and self.triggered_at is None and not self.is_final

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class Holding:
    """One user's holding of one stock, as stored (``exists`` False: no item yet)."""

    user_id: str
    symbol: str
    available: int = 0
    reserved: int = 0
    cost_basis: int = 0
    realized_pnl: int = 0
    exists: bool = False


@dataclass
class Stock:
    symbol: str
    reference_price: int
    trade_seq: int = 0
    last_price: int | None = None
    day: str | None = None
    open: int | None = None
    high: int | None = None
    low: int | None = None
    volume: int = 0
    updated_at: int = 0
    candles_from: int | None = None  # the first trade aggregated into candles (None: none yet)
    status: str = "trading"  # trading | halted (set by the matcher, in the stock's sequence)


Level = list[int]  # [price, total quantity, order count]


@dataclass(frozen=True)
class StoredBook:
    """The stock's BOOK item: its version (every commit: the matcher's optimistic lock), the next
    arrival sequence, the snapshot's levels, and the book ``sequence`` that clients see (the
    contract's book version: one more with every commit that changed the levels, so a client that
    sees a gap knows it missed an update)."""

    symbol: str
    version: int
    next_seq: int
    bids: list[Level]
    asks: list[Level]
    partial: bool = False
    updated_at: int = 0
    sequence: int = 0
    log_seq: int = 0  # the stock's last audit log entry (0: none yet)
    resume: tuple[str, str, int] | None = None  # an order whose fills a split commit left to continue
    stops: tuple[int, int] = (0, 0)  # the digest of the waiting stops (domain/batch.py toggle_stop)


@dataclass(frozen=True)
class Trade:
    id: str
    symbol: str
    seq: int
    price: int
    quantity: int
    aggressor_side: str
    executed_at: int
    buy_order_id: str
    sell_order_id: str


@dataclass(frozen=True)
class OrderFill:
    """One side of a trade, as its order's owner sees it."""

    trade_id: str
    seq: int
    order_id: str
    user_id: str
    symbol: str
    side: str
    price: int
    quantity: int
    liquidity: str  # maker | taker
    executed_at: int
