"""Response bodies of the admin's audit reads (API.md "Audit log and replay")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api_app.schemas import Money


class LogOrderOut(BaseModel):
    id: str
    user_id: str
    side: Literal["buy", "sell"]
    type: str = Field(description="limit | market | stop | stop_limit")
    time_in_force: str = Field(description="as the engine took it: a market order is always ioc")
    quantity: int
    limit_price: Money | None = None
    stop_price: Money | None = None
    price_bound: Money | None = None


class LogEntryOut(BaseModel):
    seq: int = Field(description="1, 2, 3, ... per stock, no gaps")
    kind: Literal["new", "cancel", "expire", "halt", "resume"]
    order: LogOrderOut | None = Field(None, description="`new`: the order's parameters as placed")
    order_id: str | None = Field(None, description="`cancel` / `expire`: the order")
    at: str = Field(description="when the matcher took the input (ISO 8601, ms, UTC)")


class LogPageOut(BaseModel):
    entries: list[LogEntryOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null: no more (yet)")


class TradeRecordOut(BaseModel):
    seq: int
    id: str
    buy_order_id: str
    sell_order_id: str
    price: Money
    quantity: int
    aggressor_side: Literal["buy", "sell"]
    executed_at: str


class TradeRecordPageOut(BaseModel):
    trades: list[TradeRecordOut]
    next_after: int | None


class RestingOrderOut(BaseModel):
    id: str
    user_id: str
    side: Literal["buy", "sell"]
    price: Money
    remaining_quantity: int
    book_seq: int = Field(description="its arrival sequence (priority within a price)")


class WaitingStopOut(BaseModel):
    id: str
    user_id: str
    side: Literal["buy", "sell"]
    type: Literal["stop", "stop_limit"]
    time_in_force: Literal["gtc", "day"]
    stop_price: Money
    price: Money = Field(
        description="what it enters the book at: its limit_price (stop_limit) or price_bound (stop)"
    )
    remaining_quantity: int
    book_seq: int = Field(description="its arrival sequence (trigger priority within a stop price)")


class BookRecordOut(BaseModel):
    orders: list[RestingOrderOut]
    stops: list[WaitingStopOut] = Field(default_factory=list, description="untriggered stop orders")
