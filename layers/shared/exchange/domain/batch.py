"""What one matcher commit changes, as typed values (settled in the domain, written by the adapter
in one conditional transaction), and the one rule for its size."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from exchange.domain.candles import Candle
from exchange.domain.engine import Fill, Rested
from exchange.domain.records import Level, Order, OrderFill, Trade

MAX_OPS = 100  # DynamoDB's limit of one TransactWriteItems


def op_count(
    *,
    orders: int,
    fills: int,
    trades: int,
    cash: int,
    holdings: int,
    stock: bool,
    candles: int = 0,
    log: bool = True,
) -> int:
    """The operations of one commit: its BOOK item, the STOCK item if it changed, then one per
    order, fill, trade, cash account, holding and candle written (a commit's trades share one
    instant, so it writes at most one candle per interval), and the audit log item of its inputs
    (one item however many: the settlement always keeps room for it, ``log`` True). The only
    formula: the settlement uses it to cut commits, the adapter checks the transaction it builds
    against it."""
    return 1 + int(stock) + orders + fills + trades + cash + holdings + candles + int(log)


@dataclass
class OrderWrite:
    """The new state of one order, conditional on the state it was read (or last committed) in."""

    order: Order
    expected_status: str
    expected_filled: int
    expected_cancel_requested: bool = False


@dataclass
class CashDelta:
    available: int = 0
    reserved: int = 0


@dataclass
class HoldingWrite:
    user_id: str
    symbol: str
    available_delta: int = 0
    reserved_delta: int = 0
    cost_basis: int = 0  # new absolute value
    realized_pnl: int = 0  # new absolute value
    expected_cost_basis: int | None = None  # None: the holding did not exist when read
    mark_price: int | None = None  # the stock's last price after the commit (None: never traded)


@dataclass
class BookWrite:
    """The new BOOK item: version = expected + 1, the snapshot, and the events of the commit."""

    symbol: str
    version: int
    next_seq: int
    bids: list[Level]
    asks: list[Level]
    partial: bool  # the snapshot is the one before an order whose fills continue in the next commit
    updated_at: int
    sequence: int = 0  # the clients' book sequence: one more only when the levels changed
    events: list[dict[str, Any]] = field(default_factory=list)
    log_seq: int = 0  # the last audit log entry written (StoredBook.log_seq: 0, none yet)
    # the order whose fills continue in the next commit, (user_id, order_id, arrival seq): a
    # redelivery resumes it before anything else of the stock (a cascade's unit stays in order)
    resume: tuple[str, str, int] | None = None
    stops: tuple[int, int] = (0, 0)  # the waiting stops' digest (``toggle_stop``)


@dataclass
class CandleWrite:
    """The new state of one candle, conditional on the one it was computed from (None: the
    interval had no candle)."""

    symbol: str
    candle: Candle
    expected_last_seq: int | None


@dataclass
class StockWrite:
    day: str
    open: int
    high: int
    low: int
    volume: int
    last_price: int
    trade_seq: int
    updated_at: int
    candles_from: int  # the first trade sequence aggregated into candles (1 but for older stocks)


@dataclass(frozen=True)
class LogInput:
    """One sequenced input as the engine was given it, for the stock's audit log (gapless ``seq``
    per stock; adapters/audit_log.py builds the item): ``order`` (as placed) for ``new``,
    ``order_id`` for ``cancel`` / ``expire``, neither for ``halt`` / ``resume``."""

    seq: int
    kind: str  # new | cancel | expire | halt | resume
    at: int  # epoch ms the matcher took it
    order: Order | None = None
    order_id: str | None = None


@dataclass
class BatchCommit:
    symbol: str
    expected_version: int  # the stored book version the batch was matched against
    book: BookWrite
    stock: StockWrite | None = None
    orders: dict[str, OrderWrite] = field(default_factory=dict)
    fills: list[OrderFill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    cash: dict[str, CashDelta] = field(default_factory=dict)
    holdings: dict[str, HoldingWrite] = field(default_factory=dict)  # user id -> this stock's holding
    candles: list[CandleWrite] = field(default_factory=list)
    log: list[LogInput] = field(default_factory=list)  # the inputs whose effects this commit starts
    status: str | None = None  # the stock's new trading status (a halt or resume), written on STOCK

    def op_count(self) -> int:
        return op_count(
            orders=len(self.orders),
            fills=len(self.fills),
            trades=len(self.trades),
            cash=len(self.cash),
            holdings=len(self.holdings),
            stock=self.stock is not None or self.status is not None,
            candles=len(self.candles),
            log=bool(self.log),
        )


def after_fills(
    levels: tuple[list[Level], list[Level]], fills: list[Fill], maker_side: int
) -> tuple[list[Level], list[Level]]:
    """The snapshot ``levels`` after ``fills`` took from the makers' side (a maker left with
    nothing leaves its level's count; an emptied level goes)."""
    sides: list[list[Level]] = [[list(x) for x in levels[0]], [list(x) for x in levels[1]]]
    side = sides[maker_side]
    for f in fills:
        level = next((x for x in side if x[0] == f.price), None)
        if level is None:  # beyond the snapshot's depth: nothing shown changes
            continue
        level[1] -= f.qty
        level[2] -= f.maker_remaining == 0
        if level[1] <= 0 or level[2] <= 0:
            side.remove(level)
    return sides[0], sides[1]


def toggle_stop(digest: tuple[int, int], order_id: str, added: bool) -> tuple[int, int]:
    """The digest of a stock's waiting stops, (count, XOR of each id's CRC-32), with one added or
    removed: stored on the BOOK item with every commit, so a rebuild from the open-orders index
    (which may lag) can tell that it sees every waiting stop and no other (the snapshot's levels
    tell that for the resting orders; the stops are not in them)."""
    count, xor = digest
    return count + (1 if added else -1), xor ^ zlib.crc32(order_id.encode())


def stops_digest(order_ids: Any) -> tuple[int, int]:
    digest = (0, 0)
    for oid in order_ids:
        digest = toggle_stop(digest, oid, True)
    return digest


def advance_levels(
    levels: tuple[list[Level], list[Level]], events: list[Any], taker_is_buy: bool
) -> tuple[list[Level], list[Level]]:
    """The snapshot ``levels`` after one incoming order's engine events (its fills take from the
    other side, its ``Rested`` remainder joins its own): the book between two orders of one cascade,
    exact down to the snapshot's depth (deeper levels may come into view: written as ``partial``)."""
    fills = [e for e in events if type(e) is Fill]
    bids, asks = after_fills(levels, fills, maker_side=1 if taker_is_buy else 0)
    for e in events:
        if type(e) is Rested:
            side, better = (bids, lambda a, b: a > b) if taker_is_buy else (asks, lambda a, b: a < b)
            i = 0
            while i < len(side) and better(side[i][0], e.price):
                i += 1
            if i < len(side) and side[i][0] == e.price:
                side[i][1] += e.qty
                side[i][2] += 1
            else:
                side.insert(i, [e.price, e.qty, 1])
    return bids, asks
