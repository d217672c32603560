"""A deliberately simple order book, written to be trusted by reading, not to be fast.

The whole book is one list of resting orders in arrival order. To match, it picks the best
eligible resting order by sorting (price first, then arrival), one fill at a time. A FOK is tried
on a copy first. It emits the same event values as the engine, so tests can compare them with ==.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, Rested


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
