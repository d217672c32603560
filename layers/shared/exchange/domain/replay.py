"""The stock's sequenced inputs as typed records, the processor that runs them through a
:class:`~exchange.domain.market.Market`, and the replay of a whole audit log with its comparison
against the stored trades and book (pure, no I/O; ``python -m tools.replay`` does the I/O).

A log entry is the contract's ``{seq, kind: new|cancel|expire|halt|resume, order?, order_id?}``
with ``order`` = the order's parameters as placed (``id, user_id, side, type, time_in_force,
quantity, limit_price, stop_price, price_bound``), prices here in integer cents (ticks);
:meth:`LogEntry.from_view` reads the contract's JSON form (decimal strings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from exchange.domain.engine import BUY, EXPIRED, SELL, USER, Fill, OrderBook, RestingOrder
from exchange.domain.market import Market, MarketEvent
from exchange.domain.money import to_cents
from exchange.domain.stops import StopBook, StopOrder

__all__ = ["IDENTICAL", "KINDS", "LogEntry", "LogOrder", "ReplayTrade", "compare", "process", "replay"]

KINDS = ("new", "cancel", "expire", "halt", "resume")
ORDER_TYPES = ("limit", "market", "stop", "stop_limit")
IDENTICAL = "identical"
_SIDES = {"buy": BUY, "sell": SELL}


@dataclass(frozen=True)
class LogOrder:
    """A new order's parameters as placed (prices in ticks; ``None`` where the type has none)."""

    id: str
    user_id: str
    side: str  # buy | sell
    type: str  # limit | market | stop | stop_limit
    time_in_force: str
    quantity: int
    limit_price: int | None = None
    stop_price: int | None = None
    price_bound: int | None = None

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> LogOrder:
        def price(name: str) -> int | None:
            value = view.get(name)
            return None if value is None else to_cents(value)

        return cls(
            id=str(view["id"]),
            user_id=str(view["user_id"]),
            side=str(view["side"]),
            type=str(view["type"]),
            time_in_force=str(view["time_in_force"]),
            quantity=int(view["quantity"]),
            limit_price=price("limit_price"),
            stop_price=price("stop_price"),
            price_bound=price("price_bound"),
        )


@dataclass(frozen=True)
class LogEntry:
    """One sequenced input of a stock: ``order`` for ``new``, ``order_id`` for ``cancel`` and
    ``expire``, neither for ``halt`` and ``resume``."""

    seq: int
    kind: str
    order: LogOrder | None = None
    order_id: str | None = None

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> LogEntry:
        """An entry of ``GET /api/admin/stocks/{symbol}/log`` (``at`` is ignored)."""
        order = view.get("order")
        order_id = view.get("order_id")
        return cls(
            seq=int(view["seq"]),
            kind=str(view["kind"]),
            order=None if order is None else LogOrder.from_view(order),
            order_id=None if order_id is None else str(order_id),
        )


class ReplayTrade(NamedTuple):
    """A trade as the replay compares it (the stored trade's sequence, order ids, price, quantity
    and aggressor side)."""

    seq: int
    buy_order_id: Any
    sell_order_id: Any
    price: int
    quantity: int
    aggressor_side: str

    @classmethod
    def of(cls, trade: Any) -> ReplayTrade:
        """From anything with the stored Trade's attributes (e.g. ``records.Trade``)."""
        return cls(
            trade.seq, trade.buy_order_id, trade.sell_order_id, trade.price, trade.quantity,
            trade.aggressor_side,
        )  # fmt: skip


def process(market: Market, entry: LogEntry) -> list[MarketEvent]:
    """Apply one sequenced input; its events in order (``[]`` for a no-op: a cancel of an order
    that is neither resting nor waiting, a halt while halted, ...). ``ValueError`` for an entry
    that does not make sense (the market is unchanged then)."""
    kind = entry.kind
    if kind == "new":
        o = entry.order
        if o is None:
            raise ValueError(f"log entry {entry.seq}: a new order without its parameters")
        side = _SIDES.get(o.side)
        if side is None:
            raise ValueError(f"log entry {entry.seq}: bad side {o.side!r}")
        if o.type == "limit":
            limit = _need(o.limit_price, entry)
            return market.submit(o.id, o.user_id, side, o.quantity, limit, o.time_in_force)
        if o.type == "market":
            bound = _need(o.price_bound, entry)
            return market.submit(o.id, o.user_id, side, o.quantity, bound, o.time_in_force, is_market=True)
        if o.type in ("stop", "stop_limit"):
            is_stop = o.type == "stop"
            price = _need(o.price_bound if is_stop else o.limit_price, entry)
            stop_price = _need(o.stop_price, entry)
            return market.submit_stop(
                o.id, o.user_id, side, o.quantity, stop_price, price, o.time_in_force, is_stop
            )
        raise ValueError(f"log entry {entry.seq}: unknown order type {o.type!r}")
    if kind == "cancel" or kind == "expire":
        if entry.order_id is None:
            raise ValueError(f"log entry {entry.seq}: {kind} without an order_id")
        cancelled = market.cancel(entry.order_id, EXPIRED if kind == "expire" else USER)
        return [] if cancelled is None else [cancelled]
    if kind == "halt":
        return market.halt()
    if kind == "resume":
        return market.resume()
    raise ValueError(f"log entry {entry.seq}: unknown kind {kind!r}")


def _need(value: int | None, entry: LogEntry) -> int:
    if value is None:
        assert entry.order is not None
        raise ValueError(f"log entry {entry.seq}: a {entry.order.type} order without its price")
    return value


def replay(entries: Iterable[LogEntry], symbol: str = "") -> tuple[list[ReplayTrade], Market]:
    """Run a stock's whole log, from its first entry, through an empty market: the trades it makes
    (numbered 1, 2, 3, ... like the stock's trade counter) and the market it leaves. ``ValueError``
    if the sequence numbers do not go up by exactly one (an entry missing or out of order)."""
    market = Market(symbol)
    trades: list[ReplayTrade] = []
    buys: set[Any] = set()  # the ids of the buy orders (a fill names its taker, not the side)
    previous: int | None = None
    for entry in entries:
        if previous is not None and entry.seq != previous + 1:
            raise ValueError(f"log entry {entry.seq} follows {previous}: an entry is missing or out of order")
        previous = entry.seq
        if entry.order is not None and entry.order.side == "buy":
            buys.add(entry.order.id)
        for ev in process(market, entry):
            if type(ev) is Fill:
                if ev.taker_id in buys:
                    trade = ReplayTrade(len(trades) + 1, ev.taker_id, ev.maker_id, ev.price, ev.qty, "buy")
                else:
                    trade = ReplayTrade(len(trades) + 1, ev.maker_id, ev.taker_id, ev.price, ev.qty, "sell")
                trades.append(trade)
    return trades, market


def compare(
    replayed: tuple[list[ReplayTrade], Market],
    stored_trades: Sequence[ReplayTrade],
    stored_resting: Iterable[Sequence[Any]],
    stored_stops: Iterable[Sequence[Any]] | None = None,
) -> str:
    """``"identical"``, or the first difference between a replay and the stored state: the trades
    in order, then the book (``stored_resting`` as for :meth:`OrderBook.rebuild`, in arrival or
    priority order), then (if given) the untriggered stops, in arrival order."""
    trades, market = replayed
    for i in range(max(len(trades), len(stored_trades))):
        mine = trades[i] if i < len(trades) else None
        theirs = stored_trades[i] if i < len(stored_trades) else None
        if mine != theirs:
            return f"trade #{i + 1}: replayed {_show(mine)}, stored {_show(theirs)}"
    try:
        stored_book = list(OrderBook.rebuild(market.symbol, stored_resting, 0).resting_orders())
    except ValueError as exc:
        return f"the stored book is not a valid book: {exc}"
    diff = _first_difference("resting order", list(market.resting_orders()), stored_book)
    if diff or stored_stops is None:
        return diff or IDENTICAL
    normalised = StopBook()
    try:
        for stop in stored_stops:
            normalised.add(stop if isinstance(stop, StopOrder) else StopOrder(*stop))
    except ValueError as exc:
        return f"the stored stops are not valid: {exc}"
    return _first_difference("stop order", market.stop_orders(), normalised.orders()) or IDENTICAL


def _first_difference(what: str, mine: Sequence[Any], theirs: Sequence[Any]) -> str:
    for i in range(max(len(mine), len(theirs))):
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a != b:
            return f"{what} #{i + 1} (priority order): replayed {_show(a)}, stored {_show(b)}"
    return ""


def _show(value: RestingOrder | ReplayTrade | StopOrder | None) -> str:
    return "none" if value is None else repr(tuple(value))
