"""A deliberately simple order book, written to be trusted by reading, not to be fast.

The whole book is one list of resting orders in arrival order. To match, it picks the best
eligible resting order by sorting (price first, then arrival), one fill at a time. A FOK is tried
on a copy first. It emits the same event values as the engine, so tests can compare them with ==.
``ReferenceMarket`` adds stop orders (a list scanned at every trade), the last price and halts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, Rested
from exchange.domain.market import Halted, Rejected, Resumed
from exchange.domain.stops import Armed, Triggered


@dataclass
class RefOrder:
    order_id: Any
    user_id: Any
    side: int
    price: int
    qty: int  # remaining


class ReferenceBook:
    def __init__(self) -> None:
        self.resting: list[RefOrder] = []  # arrival order

    def _next_maker(self, side: int, limit: int) -> RefOrder | None:
        """The opposite order first in price-time priority, if its price is within ``limit``."""
        opposite = [o for o in self.resting if o.side != side]
        if not opposite:
            return None
        if side == BUY:  # lowest ask first, then the earliest (sorted() is stable)
            best = sorted(opposite, key=lambda o: o.price)[0]
            return best if best.price <= limit else None
        best = sorted(opposite, key=lambda o: -o.price)[0]
        return best if best.price >= limit else None

    def _match(
        self, order_id: Any, user_id: Any, side: int, qty: int, limit: int
    ) -> tuple[list[Fill], int, bool]:
        """Fill against the book; returns (fills, remaining, stopped_by_self_trade)."""
        fills: list[Fill] = []
        remaining = qty
        while remaining > 0:
            maker = self._next_maker(side, limit)
            if maker is None:
                break
            if user_id is not None and maker.user_id == user_id:
                return fills, remaining, True
            traded = min(remaining, maker.qty)
            remaining -= traded
            maker.qty -= traded
            if maker.qty == 0:
                self.resting.remove(maker)
            fills.append(
                Fill(order_id, maker.order_id, maker.user_id, maker.price, traded, remaining, maker.qty)
            )
        return fills, remaining, False

    def submit(
        self, order_id: Any, user_id: Any, side: int, qty: int, price: int, tif: str, is_market: bool = False
    ) -> list[Any]:
        events: list[Any] = [Accepted(order_id)]
        if tif == "fok":
            trial = copy.deepcopy(self)
            _, left, _ = trial._match(order_id, user_id, side, qty, price)
            if left > 0:
                return [*events, Cancelled(order_id, qty, "fok_not_fillable")]
        fills, remaining, self_trade = self._match(order_id, user_id, side, qty, price)
        events += fills
        if remaining == 0:
            return events
        if self_trade:
            reason = "self_trade_prevention"
        elif is_market:
            reason = "collar" if any(o.side != side for o in self.resting) else "no_liquidity"
        elif tif == "ioc":
            reason = "unfilled_ioc"
        else:
            self.resting.append(RefOrder(order_id, user_id, side, price, remaining))
            return [*events, Rested(order_id, side, price, remaining)]
        return [*events, Cancelled(order_id, remaining, reason)]

    def cancel(self, order_id: Any, reason: str = "user") -> Cancelled | None:
        for o in self.resting:
            if o.order_id == order_id:
                self.resting.remove(o)
                return Cancelled(order_id, o.qty, reason)
        return None

    def resting_orders(self) -> list[tuple[Any, Any, int, int, int]]:
        """Bids best first, then asks best first; arrival order within a price."""
        bids = sorted((o for o in self.resting if o.side == BUY), key=lambda o: -o.price)
        asks = sorted((o for o in self.resting if o.side == SELL), key=lambda o: o.price)
        return [(o.order_id, o.user_id, o.side, o.price, o.qty) for o in bids + asks]

    def depth(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        def levels(side: int) -> list[tuple[int, int, int]]:
            prices = sorted({o.price for o in self.resting if o.side == side}, reverse=side == BUY)
            out = []
            for p in prices[:n]:
                at = [o for o in self.resting if o.side == side and o.price == p]
                out.append((p, sum(o.qty for o in at), len(at)))
            return out

        return levels(BUY), levels(SELL)


@dataclass
class RefStop:
    order_id: Any
    user_id: Any
    side: int
    qty: int
    stop_price: int
    price: int  # limit price (stop_limit) or price bound (stop)
    tif: str
    is_market: bool


class ReferenceMarket:
    """The reference book plus untriggered stops as a plain list in arrival order, scanned at every
    trade; a last price and a halt flag. Emits the same event values as ``Market``."""

    def __init__(self) -> None:
        self.book = ReferenceBook()
        self.stops: list[RefStop] = []  # arrival order
        self.last: int | None = None
        self.halted = False

    @staticmethod
    def _met(stop: RefStop, price: int) -> bool:
        return price >= stop.stop_price if stop.side == BUY else price <= stop.stop_price

    def _trigger(self, price: int) -> list[RefStop]:
        """The stops a trade at ``price`` triggers: buys by lowest stop, then sells by highest stop,
        arrival order within one stop price (sorted() is stable)."""
        hit = [s for s in self.stops if self._met(s, price)]
        hit = sorted(hit, key=lambda s: (s.side, s.stop_price if s.side == BUY else -s.stop_price))
        for s in hit:
            self.stops.remove(s)
        return hit

    def _cascade(self, events: list[Any], pos: int, queue: list[tuple[RefStop, int]]) -> list[Any]:
        while True:
            for ev in events[pos:]:
                if isinstance(ev, Fill):
                    self.last = ev.price
                    queue += [(s, ev.price) for s in self._trigger(ev.price)]
            if not queue:
                return events
            stop, price = queue.pop(0)  # first triggered, first entered
            events.append(Triggered(stop.order_id, price))
            pos = len(events)
            tif = "ioc" if stop.is_market else stop.tif
            events += self.book.submit(
                stop.order_id, stop.user_id, stop.side, stop.qty, stop.price, tif, stop.is_market
            )[1:]

    def submit(
        self, order_id: Any, user_id: Any, side: int, qty: int, price: int, tif: str, is_market: bool = False
    ) -> list[Any]:
        if self.halted:
            return [Rejected(order_id, "halted")]
        return self._cascade(self.book.submit(order_id, user_id, side, qty, price, tif, is_market), 1, [])

    def submit_stop(
        self, order_id: Any, user_id: Any, side: int, qty: int, stop_price: int, price: int, tif: str,
        is_market: bool,
    ) -> list[Any]:  # fmt: skip
        if self.halted:
            return [Rejected(order_id, "halted")]
        stop = RefStop(order_id, user_id, side, qty, stop_price, price, tif, is_market)
        if self.last is not None and self._met(stop, self.last):
            return self._cascade([Accepted(order_id)], 1, [(stop, self.last)])
        self.stops.append(stop)
        return [Accepted(order_id), Armed(order_id, side, stop_price, qty)]

    def cancel(self, order_id: Any, reason: str = "user") -> Cancelled | None:
        done = self.book.cancel(order_id, reason)
        if done is not None:
            return done
        for s in self.stops:
            if s.order_id == order_id:
                self.stops.remove(s)
                return Cancelled(order_id, s.qty, reason)
        return None

    def halt(self) -> list[Any]:
        if self.halted:
            return []
        self.halted = True
        return [Halted()]

    def resume(self) -> list[Any]:
        if not self.halted:
            return []
        self.halted = False
        return [Resumed()]

    def stop_orders(self) -> list[tuple[Any, ...]]:
        """Buy stops by lowest stop then sell stops by highest, arrival order within a price."""
        ordered = sorted(self.stops, key=lambda s: (s.side, s.stop_price if s.side == BUY else -s.stop_price))
        return [
            (s.order_id, s.user_id, s.side, s.qty, s.stop_price, s.price, s.tif, s.is_market) for s in ordered
        ]
