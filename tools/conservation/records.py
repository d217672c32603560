"""The exchange table's items as typed records, read once into one snapshot for the rules.

Item layout: layers/shared/exchange/keys.py (pk/sk), adapters/exchange_store.py (users, cash,
holdings, orders) and usecases/matching.py (fills, trades, the BOOK snapshot). Numbers arrive as
ints (the loader turns DynamoDB's decimals into ints); anything else is skipped.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NON_FINAL = frozenset({"pending", "open", "partially_filled"})
FINAL = frozenset({"filled", "cancelled", "expired", "rejected"})

Level = tuple[int, int, int]  # price, quantity, orders


def _int(item: dict[str, Any], key: str, default: int = 0) -> int:
    value = item.get(key)
    return default if value is None else int(value)


def _opt(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    return None if value is None else int(value)


@dataclass(frozen=True)
class Cash:
    user_id: str
    available: int
    reserved: int
    initial: int | None  # None: written before the conservation ledger existed
    deposited: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Cash:
        return cls(
            item["pk"].removeprefix("USER#"),
            _int(item, "available"),
            _int(item, "reserved"),
            _opt(item, "initial"),
            _int(item, "deposited"),
        )


@dataclass(frozen=True)
class Holding:
    user_id: str
    symbol: str
    available: int
    reserved: int
    granted: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Holding:
        return cls(
            item["pk"].removeprefix("USER#"),
            item["sk"].removeprefix("HOLDING#"),
            _int(item, "available"),
            _int(item, "reserved"),
            _int(item, "granted"),
        )


@dataclass(frozen=True)
class Order:
    id: str
    user_id: str
    symbol: str
    side: str
    order_type: str
    tif: str
    quantity: int
    limit_price: int | None
    price_bound: int | None
    reservation_price: int | None
    filled: int
    remaining: int
    fill_cost: int
    status: str
    reserved_cash: int
    reserved_quantity: int
    resting: bool  # carries book_symbol: in the open_orders index, i.e. in the book
    cancel_requested: bool
    cancel_reason: str | None = None

    @property
    def bound(self) -> int | None:
        """The price it may never trade beyond: its limit, or a market order's collar."""
        return self.limit_price if self.limit_price is not None else self.price_bound

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Order:
        return cls(
            item["id"],
            item["user_id"],
            item["symbol"],
            item["side"],
            item.get("order_type", "limit"),
            item.get("tif", "gtc"),
            _int(item, "quantity"),
            _opt(item, "limit_price"),
            _opt(item, "price_bound"),
            _opt(item, "reservation_price"),
            _int(item, "filled_quantity"),
            _int(item, "remaining_quantity"),
            _int(item, "fill_cost"),
            item["status"],
            _int(item, "reserved_cash"),
            _int(item, "reserved_quantity"),
            item.get("book_symbol") is not None,
            bool(item.get("cancel_requested", False)),
            item.get("cancel_reason"),
        )


@dataclass(frozen=True)
class Fill:
    user_id: str
    order_id: str
    trade_id: str
    seq: int  # the stock's trade sequence number (from the sort key)
    symbol: str
    side: str
    price: int
    quantity: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Fill:
        _, order_id, seq = item["sk"].split("#", 2)
        return cls(
            item["pk"].removeprefix("USER#"),
            order_id,
            item["trade_id"],
            int(seq),
            item["symbol"],
            item["side"],
            _int(item, "price"),
            _int(item, "quantity"),
        )


@dataclass(frozen=True)
class Trade:
    id: str
    symbol: str
    seq: int
    price: int
    quantity: int
    buy_order_id: str
    sell_order_id: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Trade:
        return cls(
            item["id"],
            item["symbol"],
            _int(item, "seq"),
            _int(item, "price"),
            _int(item, "quantity"),
            item["buy_order_id"],
            item["sell_order_id"],
        )


@dataclass(frozen=True)
class Book:
    symbol: str
    version: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    partial: bool

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Book:
        def levels(raw: Any) -> tuple[Level, ...]:
            return tuple((int(p), int(q), int(n)) for p, q, n in raw)

        if "levels_z" in item:  # zlib-compressed [bids, asks] (layers/shared/exchange/book_codec.py)
            raw = item["levels_z"]
            bids, asks = json.loads(zlib.decompress(bytes(getattr(raw, "value", raw))))
        else:
            bids, asks = json.loads(item.get("bids") or "[]"), json.loads(item.get("asks") or "[]")
        return cls(
            item["pk"].removeprefix("STOCK#"),
            _int(item, "version"),
            levels(bids),
            levels(asks),
            bool(item.get("partial", False)),
        )


@dataclass(frozen=True)
class Stock:
    symbol: str
    trade_seq: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Stock:
        return cls(item["pk"].removeprefix("STOCK#"), _int(item, "trade_seq"))


@dataclass
class Snapshot:
    """Every item of the exchange table that the money rules speak about."""

    cash: dict[str, Cash] = field(default_factory=dict)
    holdings: dict[tuple[str, str], Holding] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    books: dict[str, Book] = field(default_factory=dict)
    stocks: dict[str, Stock] = field(default_factory=dict)

    @classmethod
    def from_items(cls, items: Iterable[dict[str, Any]]) -> Snapshot:
        snap = cls()
        for item in items:
            pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
            if pk.startswith("USER#"):
                if sk == "CASH":
                    c = Cash.from_item(item)
                    snap.cash[c.user_id] = c
                elif sk.startswith("HOLDING#"):
                    h = Holding.from_item(item)
                    snap.holdings[(h.user_id, h.symbol)] = h
                elif sk.startswith("ORDER#"):
                    o = Order.from_item(item)
                    snap.orders[o.id] = o
                elif sk.startswith("FILL#"):
                    snap.fills.append(Fill.from_item(item))
            elif pk.startswith("STOCK#"):
                if sk == "BOOK":
                    b = Book.from_item(item)
                    snap.books[b.symbol] = b
                elif sk == "STOCK":
                    s = Stock.from_item(item)
                    snap.stocks[s.symbol] = s
            elif pk.startswith("TRADES#"):
                snap.trades.append(Trade.from_item(item))
        return snap
