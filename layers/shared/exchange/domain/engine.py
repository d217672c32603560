"""Price-time priority order book and matching engine (pure Python, no I/O).

One :class:`OrderBook` per stock. Prices are integer ticks, quantities whole shares. The book
never writes anything: :meth:`OrderBook.submit` and :meth:`OrderBook.cancel` return what
happened as values (``Accepted``, ``Fill``, ``Rested``, ``Cancelled``), in order, and the caller
(the matcher Lambda) persists them.

Layout (see docs/engine.md):

* per side, a dict ``key -> level`` where ``key`` is the price for asks and ``-price`` for bids,
  so that on both sides the best level has the smallest key;
* per side, a sorted list of the live keys (best first), kept exact with ``bisect``;
* a level is ``[total_qty, order_count, head, tail, price, key, side]``: a FIFO of its orders
  as a doubly linked list (``head`` first in time priority);
* an entry (one resting order) is ``[remaining_qty, order_id, user_id, level, prev, next]``;
* a dict ``order_id -> entry``: a cancel unlinks its entry in O(1), nothing is left behind.

Complexities: a match is O(levels crossed + orders filled); resting at an existing level and
cancel are O(1) (O(L) memmove when a level appears or vanishes, L = number of levels on that
side); ``depth(n)`` is O(n); ``best_bid``/``best_ask`` are O(1).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

__all__ = [
    "BUY",
    "CANCEL_REASONS",
    "MODE_FOK",
    "MODE_IOC",
    "MODE_MARKET",
    "MODE_REST",
    "SELL",
    "TIFS",
    "Accepted",
    "Cancelled",
    "Fill",
    "OrderBook",
    "Rested",
]

BUY = 0
SELL = 1

TIFS = ("gtc", "day", "ioc", "fok")

# Cancel reasons (the contract's ``cancel_reason`` values).
USER = "user"
UNFILLED_IOC = "unfilled_ioc"
FOK_NOT_FILLABLE = "fok_not_fillable"
SELF_TRADE_PREVENTION = "self_trade_prevention"
COLLAR = "collar"
NO_LIQUIDITY = "no_liquidity"
EXPIRED = "expired"
CANCEL_REASONS = (USER, UNFILLED_IOC, FOK_NOT_FILLABLE, SELF_TRADE_PREVENTION, COLLAR, NO_LIQUIDITY, EXPIRED)

# Execution modes of the low-level :meth:`OrderBook.execute`.
MODE_REST = 0  # gtc / day limit: the remainder rests
MODE_IOC = 1  # ioc limit: the remainder is cancelled (unfilled_ioc)
MODE_FOK = 2  # fok limit: all at once or nothing (fok_not_fillable)
MODE_MARKET = 3  # market, bounded by its price_bound: remainder cancelled (collar / no_liquidity)

_TIF_MODE = {"gtc": MODE_REST, "day": MODE_REST, "ioc": MODE_IOC, "fok": MODE_FOK}

OrderId = Hashable
UserId = Hashable | None
# a trade: (taker_id, maker_id, price, qty)
Trade = tuple[Any, Any, int, int]
# what else a Fill says about it: (maker_user_id, taker_remaining, maker_remaining)
TradeDetail = tuple[Any, int, int]
# (order_id, user_id, side, price, remaining_qty)
RestingOrder = tuple[Any, Any, int, int, int]
# (price, total_qty, order_count)
Level = tuple[int, int, int]


class Accepted(NamedTuple):
    """The incoming order was taken into the sequence (always the first event of a submit)."""

    order_id: Any


class Fill(NamedTuple):
    """One trade between the incoming order (taker) and a resting one (maker), at the maker's price."""

    taker_id: Any
    maker_id: Any
    maker_user_id: Any
    price: int
    qty: int
    taker_remaining: int
    maker_remaining: int


class Rested(NamedTuple):
    """The (remainder of the) incoming gtc/day order now rests in the book."""

    order_id: Any
    side: int
    price: int
    qty: int


class Cancelled(NamedTuple):
    """An order's remainder left the book or never entered it; ``reason`` is a contract cancel_reason."""

    order_id: Any
    remaining_qty: int
    reason: str


Event = Accepted | Fill | Rested | Cancelled


class OrderBook:
    """The limit order book of one stock.

    ``version`` is not used by the engine: the matcher sets it to the stored book version that the
    in-memory state corresponds to.
    """

    __slots__ = ("_keys", "_levels", "_orders", "symbol", "version")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.version = 0
        # side -> {key: level}; key = -price (bids) / price (asks); see the module docstring
        self._levels: tuple[dict[int, list[Any]], dict[int, list[Any]]] = ({}, {})
        # side -> sorted live keys, best first
        self._keys: tuple[list[int], list[int]] = ([], [])
        # order_id -> entry
        self._orders: dict[Any, list[Any]] = {}

    # ------------------------------------------------------------------ public API
    def submit(
        self,
        order_id: OrderId,
        user_id: UserId,
        side: int,
        qty: int,
        price: int,
        tif: str,
        is_market: bool = False,
    ) -> list[Event]:
        """Match an incoming order and return what happened, in order.

        ``price`` is the limit price in ticks, or for a market order (``is_market=True``, ``tif``
        must be ``"ioc"``) its ``price_bound``: a market buy never trades above it, a market sell
        never below it. Events: ``Accepted`` first, then every ``Fill`` in execution order, then
        at most one of ``Rested`` (gtc/day remainder) or ``Cancelled`` (the remainder, with its
        reason). Raises ``ValueError`` for invalid input (nothing is changed then).
        """
        if side != BUY and side != SELL:
            raise ValueError(f"side must be BUY (0) or SELL (1), not {side!r}")
        if type(qty) is not int or qty <= 0:
            raise ValueError(f"qty must be a positive int, not {qty!r}")
        if type(price) is not int or price <= 0:
            raise ValueError(f"price must be a positive int (ticks), not {price!r}")
        mode = _TIF_MODE.get(tif)
        if mode is None:
            raise ValueError(f"unknown time in force {tif!r}")
        if is_market:
            if tif != "ioc":
                raise ValueError(f"a market order is always ioc, not {tif!r}")
            mode = MODE_MARKET
        if order_id in self._orders:
            raise ValueError(f"order {order_id!r} is already resting")

        trades: list[Trade] = []
        details: list[TradeDetail] = []
        reason = self.execute(order_id, user_id, side, qty, price, mode, trades, details)
        events: list[Event] = [Accepted(order_id)]
        remaining = details[-1][1] if details else qty
        for (taker, maker, px, q), (maker_user, taker_left, maker_left) in zip(trades, details, strict=True):
            events.append(Fill(taker, maker, maker_user, px, q, taker_left, maker_left))
        if remaining:
            if reason is None:
                events.append(Rested(order_id, side, price, remaining))
            else:
                events.append(Cancelled(order_id, remaining, reason))
        return events

    def cancel(self, order_id: OrderId, reason: str = USER) -> Cancelled | None:
        """Remove a resting order; ``None`` if ``order_id`` is unknown or already finished (a no-op).

        Use ``reason="expired"`` for the end-of-day expiry of a ``day`` order.
        """
        if reason not in CANCEL_REASONS:
            raise ValueError(f"unknown cancel reason {reason!r}")
        remaining = self.remove(order_id)
        if remaining is None:
            return None
        return Cancelled(order_id, remaining, reason)

    def depth(self, n: int) -> tuple[list[Level], list[Level]]:
        """Top ``n`` aggregated levels per side: ``(bids high->low, asks low->high)``, each level
        ``(price, total_qty, order_count)``. O(n)."""
        if n <= 0:
            return [], []
        out = []
        for side in (BUY, SELL):
            levels = self._levels[side]
            lv = [levels[k] for k in self._keys[side][:n]]
            out.append([(x[4], x[0], x[1]) for x in lv])
        return out[0], out[1]

    def best_bid(self) -> int | None:
        keys = self._keys[BUY]
        return -keys[0] if keys else None

    def best_ask(self) -> int | None:
        keys = self._keys[SELL]
        return keys[0] if keys else None

    def level(self, side: int, price: int) -> Level | None:
        """The aggregate ``(price, total_qty, order_count)`` of one level, ``None`` if it is empty."""
        lvl = self._levels[side].get(price if side else -price)
        return None if lvl is None else (lvl[4], lvl[0], lvl[1])

    def touched_levels(self, taker_side: int, events: Iterable[Event]) -> list[tuple[int, int, int, int]]:
        """The current state of every level that the events of one ``submit`` (just made, by an
        order of ``taker_side``) changed: ``(side, price, total_qty, order_count)``, with
        ``(side, price, 0, 0)`` for a level that is now empty. (For a cancel, look the order up with
        :meth:`order` before cancelling it, then read its :meth:`level`.)"""
        seen: dict[tuple[int, int], None] = {}
        maker_side = taker_side ^ 1
        for ev in events:
            if type(ev) is Fill:
                seen[(maker_side, ev.price)] = None
            elif type(ev) is Rested:
                seen[(ev.side, ev.price)] = None
        out = []
        for side, price in seen:
            lvl = self.level(side, price)
            out.append((side, price, lvl[1], lvl[2]) if lvl else (side, price, 0, 0))
        return out

    def order(self, order_id: OrderId) -> RestingOrder | None:
        """``(order_id, user_id, side, price, remaining_qty)`` of a resting order, else ``None``."""
        e = self._orders.get(order_id)
        return None if e is None else (e[1], e[2], e[3][6], e[3][4], e[0])

    def resting_orders(self) -> Iterator[RestingOrder]:
        """Every resting order as ``(order_id, user_id, side, price, remaining_qty)``: the bids in
        priority order, then the asks in priority order. Feeding them to :meth:`rebuild` gives an
        equal book."""
        for side in (BUY, SELL):
            levels = self._levels[side]
            snapshot = []
            for k in self._keys[side]:
                lvl = levels[k]
                price = lvl[4]
                e = lvl[2]
                while e is not None:
                    snapshot.append((e[1], e[2], side, price, e[0]))
                    e = e[5]
            yield from snapshot

    @classmethod
    def rebuild(cls, symbol: str, resting: Iterable[Sequence[Any]], version: int) -> OrderBook:
        """A book holding ``resting`` = ``(order_id, user_id, side, price, remaining_qty)`` items in
        their original arrival sequence (no matching happens). Raises ``ValueError`` on a
        duplicate id, bad values or a crossed result."""
        book = cls(symbol)
        book.version = version
        orders = book._orders
        for order_id, user_id, side, price, qty in resting:
            if side != BUY and side != SELL:
                raise ValueError(f"bad side {side!r} for order {order_id!r}")
            if type(qty) is not int or qty <= 0 or type(price) is not int or price <= 0:
                raise ValueError(f"bad price/qty for order {order_id!r}")
            if order_id in orders:
                raise ValueError(f"duplicate order {order_id!r}")
            book._rest(order_id, user_id, side, price, qty)
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None and ask is not None and bid >= ask:
            raise ValueError(f"rebuilt book is crossed: bid {bid} >= ask {ask}")
        return book

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def __len__(self) -> int:
        return len(self._orders)

    def __eq__(self, other: object) -> bool:
        """Same symbol and same resting orders in the same priority (``version`` is not compared)."""
        if not isinstance(other, OrderBook):
            return NotImplemented
        return self.symbol == other.symbol and list(self.resting_orders()) == list(other.resting_orders())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, version={self.version}, orders={len(self._orders)}, "
            f"bid={self.best_bid()}, ask={self.best_ask()})"
        )

    # ------------------------------------------------------------------ low level (hot path)
    def execute(
        self,
        order_id: Any,
        user_id: Any,
        side: int,
        qty: int,
        price: int,
        mode: int,
        trades: list[Trade],
        details: list[TradeDetail] | None = None,
    ) -> str | None:
        """The matching algorithm itself, without validation (``submit`` validates and wraps it).

        Appends each fill, in execution order, to ``trades`` as ``(taker_id, maker_id, price,
        qty)`` and, if ``details`` is a list, to it the matching ``(maker_user_id,
        taker_remaining, maker_remaining)``. Returns the cancel reason of the unfilled remainder,
        or ``None`` when nothing remains or the remainder now rests. ``mode`` is one of
        ``MODE_REST``, ``MODE_IOC``, ``MODE_FOK``, ``MODE_MARKET`` (then ``price`` is the order's
        price bound).
        """
        opp = side ^ 1
        okeys = self._keys[opp]
        olevels = self._levels[opp]
        orders = self._orders
        # Opposite keys are prices (asks) or -prices (bids): a taker matches keys <= lim.
        lim = -price if side else price
        if mode == 2 and not self._fok_fillable(okeys, olevels, user_id, qty, lim):  # MODE_FOK
            return FOK_NOT_FILLABLE
        rem = qty
        while rem and okeys:
            k = okeys[0]
            if k > lim:
                break
            lvl = olevels[k]
            p = lvl[4]
            while rem:
                e = lvl[2]  # head: first in time priority
                muid = e[2]
                if user_id is not None and muid == user_id:
                    return SELF_TRADE_PREVENTION
                mq = e[0]
                mid = e[1]
                if mq <= rem:
                    rem -= mq
                    del orders[mid]
                    trades.append((order_id, mid, p, mq))
                    if details is not None:
                        details.append((muid, rem, 0))
                    c = lvl[1] - 1
                    if c:
                        lvl[1] = c
                        lvl[0] -= mq
                        nxt = e[5]
                        lvl[2] = nxt
                        nxt[4] = None
                    else:  # level emptied
                        lvl[2] = lvl[3] = None
                        del olevels[k]
                        del okeys[0]
                        break
                else:
                    mq -= rem
                    e[0] = mq
                    lvl[0] -= rem
                    trades.append((order_id, mid, p, rem))
                    if details is not None:
                        details.append((muid, 0, mq))
                    rem = 0
        if not rem:
            return None
        if mode == 0:  # MODE_REST; inline of _rest (hot path)
            key = -lim  # own-side key: -price for a bid, price for an ask
            levels = self._levels[side]
            own = levels.get(key)
            if own is None:
                own = [rem, 1, None, None, price, key, side]
                e = [rem, order_id, user_id, own, None, None]
                own[2] = own[3] = e
                levels[key] = own
                insort(self._keys[side], key)
            else:
                own[0] += rem
                own[1] += 1
                tail = own[3]
                e = [rem, order_id, user_id, own, tail, None]
                tail[5] = own[3] = e
            orders[order_id] = e
            return None
        if mode == 3:  # MODE_MARKET
            return COLLAR if okeys else NO_LIQUIDITY
        return UNFILLED_IOC

    def remove(self, order_id: Any) -> int | None:
        """Take a resting order out of the book; its remaining quantity, or ``None`` if it was not
        resting. (``cancel`` wraps this.)"""
        e = self._orders.pop(order_id, None)
        if e is None:
            return None
        qty: int = e[0]
        lvl = e[3]
        c = lvl[1] - 1
        if c:
            lvl[1] = c
            lvl[0] -= qty
            prv = e[4]
            nxt = e[5]
            if prv is None:
                lvl[2] = nxt
            else:
                prv[5] = nxt
            if nxt is None:
                lvl[3] = prv
            else:
                nxt[4] = prv
        else:
            lvl[2] = lvl[3] = None
            key = lvl[5]
            side = lvl[6]
            del self._levels[side][key]
            keys = self._keys[side]
            del keys[bisect_left(keys, key)]
        return qty

    # ------------------------------------------------------------------ helpers
    def _rest(self, order_id: Any, user_id: Any, side: int, price: int, qty: int) -> None:
        key = price if side else -price
        levels = self._levels[side]
        lvl = levels.get(key)
        if lvl is None:
            lvl = [qty, 1, None, None, price, key, side]
            e = [qty, order_id, user_id, lvl, None, None]
            lvl[2] = lvl[3] = e
            levels[key] = lvl
            insort(self._keys[side], key)
        else:
            lvl[0] += qty
            lvl[1] += 1
            tail = lvl[3]
            e = [qty, order_id, user_id, lvl, tail, None]
            tail[5] = lvl[3] = e
        self._orders[order_id] = e

    @staticmethod
    def _fok_fillable(
        okeys: list[int], olevels: dict[int, list[Any]], user_id: Any, qty: int, lim: int
    ) -> bool:
        """Is there ``qty`` within ``lim`` ahead of the first resting order of ``user_id``?"""
        need = qty
        for k in okeys:
            if k > lim:
                return False
            lvl = olevels[k]
            if user_id is None:
                need -= lvl[0]
                if need <= 0:
                    return True
            else:
                e = lvl[2]
                while e is not None:
                    if e[2] == user_id:
                        return False
                    need -= e[0]
                    if need <= 0:
                        return True
                    e = e[5]
        return False
