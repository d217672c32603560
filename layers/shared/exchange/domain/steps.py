"""The values between the matcher's stages: what the engine did with one message (:class:`Step`), and
what settlement announces about it (order, trade and book events), all plain data (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.domain.engine import Event as EngineEvent
from exchange.domain.records import Level, Order, OrderFill, Trade


@dataclass(frozen=True)
class OrderEvent:
    type: str  # ORDER_ACCEPTED | ORDER_FILLED | ORDER_CANCELLED | ORDER_EXPIRED | ORDER_REJECTED
    order: Order  # as of the event
    fill: OrderFill | None = None
    reason: str | None = None  # ORDER_REJECTED's


@dataclass(frozen=True)
class TradeEvent:
    trade: Trade


@dataclass(frozen=True)
class BookEvent:
    sequence: int  # the clients' book sequence (StoredBook.sequence)
    bids: list[Level]
    asks: list[Level]
    updated_at: int


Event = OrderEvent | TradeEvent | BookEvent
Levels = tuple[list[Level], list[Level]]


@dataclass
class Step:
    """What the engine did with one message."""

    order_id: str
    events: list[EngineEvent]  # the engine's, in order (a new order's Accepted is not needed)
    levels: Levels  # the book's snapshot after the message
    accept: bool = False  # a new order taken into the sequence
    seq: int = 0  # its arrival sequence (new orders)
    cancel_reason: str | None = None  # a cancel requested before the order was taken
    reject_reason: str | None = None  # a new order refused whole (the stock is halted)
    trigger_price: int | None = None  # a stop order triggered (its seq: the trigger's position)
    resumed: bool = False  # an order whose fills an earlier split commit left to continue
    unit: int = 0  # the input it belongs to: an input and the stops it triggers are one unit
    partial: bool = False  # ``levels`` only shown down to the snapshot's depth (inside a cascade)
    user_id: str | None = None  # a triggered stop's owner (its order is read with the makers)
    status: str | None = None  # a halt or resume: the stock's new trading status
