"""One stock's market: its order book, its untriggered stop orders, its last trade price and its
trading status, driven by the stock's sequenced inputs (pure, no I/O).

:class:`Market` wraps :class:`~exchange.domain.engine.OrderBook` (unchanged: its hot path pays
nothing for stops) and a :class:`~exchange.domain.stops.StopBook`. Every trade updates the last
trade price and triggers the stops whose condition it meets; triggered orders enter the book one
after the other, in the order they triggered, right after the input whose trades triggered them
(a cascade included), and their events are appended to that input's events. See docs/engine.md
for the exact order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from exchange.domain.engine import (
    BUY,
    EXPIRED,
    SELL,
    TIFS,
    USER,
    Accepted,
    Cancelled,
    Event,
    Fill,
    OrderBook,
    RestingOrder,
)
from exchange.domain.stops import STOP_TIFS, Armed, StopBook, StopOrder, Triggered, condition_met

__all__ = ["HALTED", "Halted", "Market", "MarketEvent", "Rejected", "Resumed", "by_order"]

HALTED = "halted"  # the contract's reject_reason


class Rejected(NamedTuple):
    """A new order sequenced while the stock is halted: refused whole (no Accepted, nothing kept)."""

    order_id: Any
    reason: str


class Halted(NamedTuple):
    """The stock's trading status became ``halted``."""


class Resumed(NamedTuple):
    """The stock's trading status became ``trading``."""


MarketEvent = Event | Armed | Triggered | Rejected | Halted | Resumed


def by_order(events: Sequence[MarketEvent]) -> list[tuple[Any, list[MarketEvent]]]:
    """One input's events cut into what each incoming order did, in order: the input's own order
    (from its ``Accepted``) and then each triggered stop (from its ``Triggered``), each with its
    events (its fills as taker, then its ``Rested`` / ``Cancelled``). A cancel, a halt or a
    ``Rejected`` is one segment of its own."""
    out: list[tuple[Any, list[MarketEvent]]] = []
    for ev in events:
        if type(ev) is Accepted or type(ev) is Triggered or not out:
            out.append((getattr(ev, "order_id", None), [ev]))
        else:
            out[-1][1].append(ev)
    return out


def _check(side: int, qty: int, price: int, what: str = "price") -> None:
    if side != BUY and side != SELL:
        raise ValueError(f"side must be BUY (0) or SELL (1), not {side!r}")
    if type(qty) is not int or qty <= 0:
        raise ValueError(f"qty must be a positive int, not {qty!r}")
    if type(price) is not int or price <= 0:
        raise ValueError(f"{what} must be a positive int (ticks), not {price!r}")


class Market:
    """The book, the untriggered stops, the last trade price and the halt flag of one stock."""

    __slots__ = ("book", "halted", "last_price", "stops")

    def __init__(self, symbol: str, last_price: int | None = None) -> None:
        self.book = OrderBook(symbol)
        self.stops = StopBook()
        self.last_price = last_price  # the stock's last trade price in ticks (None: no trade yet)
        self.halted = False

    @property
    def symbol(self) -> str:
        return self.book.symbol

    @property
    def version(self) -> int:
        return self.book.version

    @version.setter
    def version(self, value: int) -> None:
        self.book.version = value

    # ------------------------------------------------------------------ inputs
    def submit(
        self,
        order_id: Any,
        user_id: Any,
        side: int,
        qty: int,
        price: int,
        tif: str,
        is_market: bool = False,
    ) -> list[MarketEvent]:
        """A limit or market order, as :meth:`OrderBook.submit` (same arguments, same events), then
        the stops its trades triggered, in order. While halted: ``[Rejected(order_id, "halted")]``.
        ``ValueError`` for invalid input (nothing changes)."""
        waiting = self.stops.live
        if self.halted or order_id in waiting:
            return self._refuse(order_id, side, qty, price, tif, is_market)
        # (the book's events are MarketEvents: no copy, no cast() call on the hot path)
        events: list[MarketEvent] = self.book.submit(  # type: ignore[assignment]
            order_id, user_id, side, qty, price, tif, is_market
        )
        # the last fill is the last event or the one before a closing Rested / Cancelled
        if len(events) > 1:
            ev = events[-1]
            if type(ev) is not Fill:
                ev = events[-2]
            if type(ev) is Fill:
                if waiting:
                    # one taker's fills go one way in price: its first and last fill bound them
                    # all. A look at the heap tops (a dead top may send us to the scan for nothing,
                    # never the reverse); inline: a call here is measurable
                    hi = ev.price
                    lo: int = events[1].price  # type: ignore[union-attr]
                    if lo > hi:
                        lo, hi = hi, lo
                    buys, sells = self.stops.heaps
                    if (buys and buys[0][0] <= hi) or (sells and sells[0][0] <= -lo):
                        queue: deque[tuple[StopOrder, int]] = deque()
                        self._scan(events, 1, queue)
                        return self._enter(events, queue)
                self.last_price = ev.price
        return events

    def _refuse(
        self, order_id: Any, side: int, qty: int, price: int, tif: str, is_market: bool
    ) -> list[MarketEvent]:
        """A new order while halted (validated first), or one reusing a waiting stop's id."""
        if order_id in self.stops:
            raise ValueError(f"order {order_id!r} is already waiting as a stop")
        _check(side, qty, price)
        if tif not in TIFS or (is_market and tif != "ioc"):
            raise ValueError(f"bad time in force {tif!r}")
        if order_id in self.book:
            raise ValueError(f"order {order_id!r} is already resting")
        return [Rejected(order_id, HALTED)]

    def submit_stop(
        self,
        order_id: Any,
        user_id: Any,
        side: int,
        qty: int,
        stop_price: int,
        price: int,
        tif: str,
        is_market: bool,
    ) -> list[MarketEvent]:
        """A stop (``is_market``: ``price`` is its ``price_bound``) or stop-limit order (``price`` is
        its ``limit_price``), ``tif`` gtc or day. Events: ``Accepted``, then ``Armed`` (it waits), or
        ``Triggered`` at once if the last trade price already meets its condition, followed by the
        order's events in the book and the cascade it causes. While halted: ``Rejected``."""
        _check(side, qty, price)
        _check(side, qty, stop_price, "stop_price")
        if tif not in STOP_TIFS:
            raise ValueError(f"a stop order is gtc or day, not {tif!r}")
        if order_id in self.book or order_id in self.stops:
            raise ValueError(f"order {order_id!r} is already in the market")
        if self.halted:
            return [Rejected(order_id, HALTED)]
        stop = StopOrder(order_id, user_id, side, qty, stop_price, price, tif, bool(is_market))
        last = self.last_price
        if last is None or not condition_met(side, stop_price, last):
            self.stops.add(stop)
            return [Accepted(order_id), Armed(order_id, side, stop_price, qty)]
        return self._enter([Accepted(order_id)], deque([(stop, last)]))

    def cancel(self, order_id: Any, reason: str = USER) -> Cancelled | None:
        """Cancel (or, ``reason="expired"``, expire) a resting order or an untriggered stop; ``None``
        if it is neither (a no-op). Works while halted."""
        if reason != USER and reason != EXPIRED:
            raise ValueError(f"unknown cancel reason {reason!r}")
        remaining = self.book.remove(order_id)
        if remaining is None:
            if order_id not in self.stops.live:
                return None
            stop = self.stops.remove(order_id)
            assert stop is not None
            remaining = stop.qty
        return Cancelled(order_id, remaining, reason)

    def halt(self) -> list[MarketEvent]:
        """Stop trading: later new orders are rejected; ``[]`` if already halted."""
        if self.halted:
            return []
        self.halted = True
        return [Halted()]

    def resume(self) -> list[MarketEvent]:
        """Trade again; ``[]`` if not halted. Nothing is triggered retroactively: no trade happens
        while halted, so no stop's condition can have become true; stops wait for the next trade."""
        if not self.halted:
            return []
        self.halted = False
        return [Resumed()]

    # ------------------------------------------------------------------ triggering
    def _enter(self, events: list[MarketEvent], queue: deque[tuple[StopOrder, int]]) -> list[MarketEvent]:
        """Enter the triggered stops of ``queue`` into the book, first triggered first, each one's
        fills scanned in turn (they may trigger more: a cascade, appended to the queue). Appends
        their events to ``events``."""
        book = self.book
        while queue:
            stop, price = queue.popleft()
            events.append(Triggered(stop.order_id, price))
            n = len(events)
            tif = "ioc" if stop.is_market else stop.tif
            sub = book.submit(
                stop.order_id, stop.user_id, stop.side, stop.qty, stop.price, tif, stop.is_market
            )
            events.extend(sub[1:])  # its Accepted was at its placement
            self._scan(events, n, queue)
        return events

    def _scan(self, events: list[MarketEvent], start: int, queue: deque[tuple[StopOrder, int]]) -> None:
        """For each fill in ``events[start:]``, in execution order: the last price, and the stops
        it triggers appended to ``queue``."""
        triggered: list[StopOrder] = []
        stops = self.stops
        waiting = stops.live
        for i in range(start, len(events)):
            ev = events[i]
            if type(ev) is Fill:
                p = ev.price
                self.last_price = p
                if waiting:
                    stops.pop_triggered(p, triggered)
                    if triggered:
                        queue.extend((s, p) for s in triggered)
                        triggered.clear()

    # ------------------------------------------------------------------ state
    def resting_orders(self) -> Iterator[RestingOrder]:
        return self.book.resting_orders()

    def stop_orders(self) -> list[StopOrder]:
        """The untriggered stops, buy stops then sell stops, each in trigger order."""
        return self.stops.orders()

    def order(self, order_id: Any) -> RestingOrder | StopOrder | None:
        """A resting order ``(order_id, user_id, side, price, remaining)``, or an untriggered
        ``StopOrder``, or ``None``."""
        resting = self.book.order(order_id)
        return resting if resting is not None else self.stops.get(order_id)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.book or order_id in self.stops

    @classmethod
    def rebuild(
        cls,
        symbol: str,
        resting: Iterable[Sequence[Any]],
        stops: Iterable[StopOrder],
        last_price: int | None,
        halted: bool = False,
        version: int = 0,
    ) -> Market:
        """The market that stored state describes: ``resting`` as for :meth:`OrderBook.rebuild`
        (arrival order; a triggered order's arrival is its trigger), ``stops`` the untriggered
        stops in arrival order, the last trade price and the halt flag. ``ValueError`` if they
        contradict each other: an id twice, or a stop whose condition the last price meets (it
        would have triggered)."""
        market = cls(symbol, last_price)
        market.book = OrderBook.rebuild(symbol, resting, version)
        market.halted = halted
        for stop in stops:
            if not isinstance(stop, StopOrder):
                stop = StopOrder(*stop)
            _check(stop.side, stop.qty, stop.price)
            _check(stop.side, stop.qty, stop.stop_price, "stop_price")
            if stop.tif not in STOP_TIFS:
                raise ValueError(f"bad time in force for stop {stop.order_id!r}")
            if stop.order_id in market.book:
                raise ValueError(f"order {stop.order_id!r} both resting and waiting as a stop")
            if last_price is not None and condition_met(stop.side, stop.stop_price, last_price):
                raise ValueError(f"stop {stop.order_id!r} should have triggered at {last_price}")
            market.stops.add(stop)
        return market

    def __eq__(self, other: object) -> bool:
        """Same book, same untriggered stops in the same order, same last price and halt flag."""
        if not isinstance(other, Market):
            return NotImplemented
        return (
            self.book == other.book
            and self.stops.orders() == other.stops.orders()
            and self.last_price == other.last_price
            and self.halted == other.halted
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Market({self.symbol!r}, orders={len(self.book)}, stops={len(self.stops)}, "
            f"last={self.last_price}, halted={self.halted})"
        )
