"""Untriggered stop and stop-limit orders of one stock, kept outside the order book (pure, no I/O).

A :class:`StopBook` holds, per side, a binary heap of ``(key, arrival, stop)`` entries whose
smallest key triggers first: ``key = stop_price`` for buy stops (a buy stop triggers on a trade at
``>= stop_price``: the lowest stop is reached first as the price rises) and ``key = -stop_price``
for sell stops (a trade at ``<= stop_price``: the highest is reached first as it falls). Equal
keys trigger in arrival order. So a trade at ``price`` triggers exactly the entries with
``key <= price`` (buy) / ``key <= -price`` (sell), which are the heap's top:

* add: O(log n); trigger: O(log n) per stop triggered, plus O(1) for a trade that triggers none
  (a look at each heap's top); never a scan of all stops;
* cancel: O(1): the stop leaves the ``order_id -> entry`` dict and its heap entry becomes dead
  (skipped when it reaches the top); a side's heap is compacted when more than half of it is dead
  (amortised O(1) per cancel), so dead entries never outnumber the live ones for long.

:class:`~exchange.domain.market.Market` combines it with the book: see docs/engine.md.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Any, NamedTuple

from exchange.domain.engine import BUY, SELL

__all__ = ["STOP_TIFS", "Armed", "StopBook", "StopOrder", "Triggered", "condition_met"]

STOP_TIFS = ("gtc", "day")  # the contract's time_in_force values for stop / stop_limit orders

_COMPACT_MIN = 64  # dead heap entries tolerated before a compaction is considered


class StopOrder(NamedTuple):
    """An untriggered stop (``is_market``: it enters as a market ioc order bounded by ``price``,
    the ``price_bound`` fixed at placement) or stop-limit (a limit order at ``price`` with ``tif``)."""

    order_id: Any
    user_id: Any
    side: int
    qty: int
    stop_price: int
    price: int  # limit_price (stop_limit) or price_bound (stop)
    tif: str  # gtc | day: how long it waits; a triggered stop_limit keeps it in the book
    is_market: bool


class Armed(NamedTuple):
    """The incoming stop order waits for its trigger, outside the book (the contract's ``open``
    status, not in the depth)."""

    order_id: Any
    side: int
    stop_price: int
    qty: int


class Triggered(NamedTuple):
    """A stop order triggered (the contract's ORDER_TRIGGERED): ``price`` is the trade price that met
    its condition (or, at its arrival, the last trade price). The events after it, up to the next
    ``Triggered``, are those of this order entering the book."""

    order_id: Any
    price: int


def condition_met(side: int, stop_price: int, trade_price: int) -> bool:
    """Does a trade at ``trade_price`` trigger a stop of ``side`` at ``stop_price``?"""
    return trade_price >= stop_price if side == BUY else trade_price <= stop_price


class StopBook:
    """The untriggered stops of one stock, per side, in trigger order (see the module docstring)."""

    __slots__ = ("_arrival", "_dead", "heaps", "live")

    def __init__(self) -> None:
        # side -> heap of (key, arrival, stop); arrival is unique, so a stop is never compared.
        # Public, like ``live``, for Market's look at the tops without a call: read only.
        self.heaps: tuple[list[tuple[int, int, StopOrder]], list[tuple[int, int, StopOrder]]] = ([], [])
        # order_id -> its live heap entry (an entry is live iff it is the one in this dict); public
        # for O(1) membership tests without a method call (Market's hot path): read it, never write
        self.live: dict[Any, tuple[int, int, StopOrder]] = {}
        self._dead = [0, 0]  # dead entries per side
        self._arrival = 0

    def add(self, stop: StopOrder) -> None:
        """Keep an untriggered stop; ``ValueError`` if its id is already kept."""
        if stop.order_id in self.live:
            raise ValueError(f"stop order {stop.order_id!r} is already waiting")
        entry = (stop.stop_price if stop.side == BUY else -stop.stop_price, self._arrival, stop)
        self._arrival += 1
        heappush(self.heaps[stop.side], entry)
        self.live[stop.order_id] = entry

    def remove(self, order_id: Any) -> StopOrder | None:
        """Take an untriggered stop out (cancel, expiry); ``None`` if it is not waiting."""
        entry = self.live.pop(order_id, None)
        if entry is None:
            return None
        side = entry[2].side
        dead = self._dead[side] + 1
        heap = self.heaps[side]
        if dead > _COMPACT_MIN and 2 * dead > len(heap):
            live = self.live
            heap[:] = [e for e in heap if live.get(e[2].order_id) is e]
            heapify(heap)
            dead = 0
        self._dead[side] = dead
        return entry[2]

    def pop_triggered(self, trade_price: int, out: list[StopOrder]) -> None:
        """Remove every stop that a trade at ``trade_price`` triggers and append them to ``out``:
        buy stops first (lowest stop price first), then sell stops (highest first), arrival order
        within a price. (With a last trade price, one trade never triggers both sides.)"""
        live = self.live
        for side in (BUY, SELL):
            heap = self.heaps[side]
            threshold = trade_price if side == BUY else -trade_price
            while heap and heap[0][0] <= threshold:
                entry = heappop(heap)
                stop = entry[2]
                if live.get(stop.order_id) is entry:
                    del live[stop.order_id]
                    out.append(stop)
                else:
                    self._dead[side] -= 1

    def get(self, order_id: Any) -> StopOrder | None:
        entry = self.live.get(order_id)
        return None if entry is None else entry[2]

    def orders(self) -> list[StopOrder]:
        """Every untriggered stop: the buy stops in trigger order, then the sell stops in trigger
        order. Adding them in this order to an empty StopBook gives an equal one."""
        entries = sorted(self.live.values(), key=lambda e: (e[2].side, e[0], e[1]))
        return [e[2] for e in entries]

    def heap_size(self, side: int) -> int:
        """Live plus dead entries of one side's heap (for the tests of the compaction)."""
        return len(self.heaps[side])

    def __len__(self) -> int:
        return len(self.live)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.live

    def __bool__(self) -> bool:
        return bool(self.live)
