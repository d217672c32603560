"""Settlement's working copies: the :class:`Ledger` of one batch of one stock and its money rules
(no I/O); :mod:`exchange.domain.settlement` walks the steps through it and cuts the commits.

A :class:`Ledger` starts from what the matcher read (the messages' orders and their makers, the
holdings of everyone involved, the stock, the stored book) and applies the engine's events one by
one; :meth:`Ledger.take_commit` hands over what changed since the last commit, conditional on what
it was computed from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from exchange.domain.batch import (
    BatchCommit,
    BookWrite,
    CandleWrite,
    CashDelta,
    HoldingWrite,
    OrderWrite,
    StockWrite,
    op_count,
    toggle_stop,
)
from exchange.domain.candles import Candle, CandleKey, TradePoint, add_trade, keys_at
from exchange.domain.errors import StaleState
from exchange.domain.money import div_round_half_up
from exchange.domain.records import Holding, Order, OrderFill, OrderStatus, Stock, StoredBook, Trade
from exchange.domain.steps import BookEvent, Event, Levels, OrderEvent, TradeEvent
from exchange.domain.working import Commit, WorkingHolding

RESTING = (OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value)  # may be in the engine's book
# cut a commit at a message boundary once it holds this many operations: the next message's first
# fill (at most 14 operations: the stock, a candle per interval, the trade, two orders, fills, cash
# accounts and holdings) then always fits, so a commit never ends before an order's first fill
FLUSH_AT_OPS = 60


class Ledger:
    """Working copies of everything one batch of one stock may change, the changes since the last
    commit, and the state each change is conditional on (as read, or as last written)."""

    def __init__(
        self,
        stock: Stock,
        book: StoredBook,
        orders: dict[str, Order],
        holdings: dict[str, Holding],
        now: int,
        trading_day: str,
        new_id: Callable[[], str],
        candles: dict[CandleKey, Candle] | None = None,
    ) -> None:
        """``candles``: the stored candles of the keys ``keys_at(now)`` (those absent: none yet)."""
        self.symbol, self.now, self.today, self._new_id = stock.symbol, now, trading_day, new_id
        self.stock = dataclasses.replace(stock)
        self.orders = {oid: dataclasses.replace(o) for oid, o in orders.items()}
        self._expected = {oid: (o.status, o.filled_quantity, o.cancel_requested) for oid, o in orders.items()}
        self._holdings = {u: WorkingHolding.of(h) for u, h in holdings.items()}
        self.version, self.next_seq = book.version, book.next_seq
        self.stops = book.stops  # the waiting stops' digest, as applied so far
        self.sequence = book.sequence
        self._levels: Levels = (book.bids, book.asks)
        self.in_flight: str | None = None  # the order whose fills are being applied
        self.in_flight_seq = 0  # its arrival sequence (a triggered order's: its trigger's)
        self._in_flight_since = now
        self._candles: dict[CandleKey, Candle] = dict(candles or {})
        self._candle_base = {k: c.last_seq for k, c in self._candles.items()}  # as read or written
        self._reset()

    def _reset(self) -> None:
        self._touched: dict[str, None] = {}
        self._fills: list[OrderFill] = []
        self._trades: list[Trade] = []
        self._cash: dict[str, CashDelta] = {}
        self._changed_holdings: dict[str, None] = {}
        self._changed_candles: dict[CandleKey, None] = {}
        self._events: list[Event] = []
        self._stock_changed = False
        self._status: str | None = None  # a halt or resume since the last commit

    # ------------------------------------------------------------------ size
    def ops(self, orders: tuple[str, ...] = (), users: tuple[str, ...] = (), fills: int = 0) -> int:
        """The operations of the current commit, with ``fills`` more fills among ``orders`` and
        ``users`` (each fill: one trade, two order fills, the stock)."""
        return op_count(
            orders=len(self._touched.keys() | set(orders)),
            fills=len(self._fills) + 2 * fills,
            trades=len(self._trades) + fills,
            cash=len(self._cash.keys() | set(users)),
            holdings=len(self._changed_holdings.keys() | set(users)),
            stock=self._stock_changed or self._status is not None or fills > 0,
            candles=len(self._changed_candles.keys() | (set(keys_at(self.now)) if fills else set())),
        )

    @property
    def levels(self) -> Levels:  # the book's snapshot as last committed (or read)
        return self._levels

    def has_changes(self) -> bool:
        return bool(self._touched or self._events or self._status)

    # ------------------------------------------------------------------ messages
    def accept(self, order_id: str, seq: int) -> None:
        o = self.orders[order_id]
        resumed = o.filled_quantity > 0  # an earlier delivery committed its first fills (and announced it)
        self.next_seq = max(self.next_seq, seq + 1)
        self._in_flight_since = o.pending_since if o.pending_since is not None else self.now
        o.status, o.updated_at = OrderStatus.OPEN.value, self.now
        self._touch(o)
        if not resumed:
            self._events.append(OrderEvent("ORDER_ACCEPTED", dataclasses.replace(o, filled_quantity=0)))

    def trigger(self, order_id: str, seq: int) -> None:
        """A waiting stop order triggered: it enters the book now (its arrival: ``seq``); status stays
        ``open`` until a fill; ORDER_TRIGGERED with the order as of its trigger."""
        o = self.orders[order_id]
        if o.status != OrderStatus.OPEN.value or o.triggered_at is not None or o.filled_quantity:
            # the engine's stops come from an index that may lag: never trigger an order twice
            raise StaleState(f"stop {o.id} is {o.status} (triggered at {o.triggered_at}), not waiting")
        self.next_seq = max(self.next_seq, seq + 1)
        if o.book_seq is not None:  # it waited (not: triggered at once on arrival)
            self.stops = toggle_stop(self.stops, o.id, False)
        o.triggered_at, o.book_seq, o.updated_at = self.now, None, self.now
        self._in_flight_since = self.now
        self._touch(o)
        self._events.append(OrderEvent("ORDER_TRIGGERED", dataclasses.replace(o)))

    def resume(self, order_id: str) -> None:
        """An order a split commit left ``pending`` mid-fills continues (no second announcement)."""
        o = self.orders[order_id]
        if o.status != OrderStatus.PENDING.value:
            raise StaleState(f"order {o.id} to resume is {o.status}")
        o.status = OrderStatus.PARTIALLY_FILLED.value if o.filled_quantity else OrderStatus.OPEN.value
        self._in_flight_since = o.pending_since if o.pending_since is not None else self.now
        self._touch(o)

    def rest(self, order_id: str, seq: int) -> None:
        self.orders[order_id].book_seq = seq

    def arm(self, order_id: str, seq: int) -> None:
        """A stop order waits (its arrival: ``seq``), outside the book and its depth."""
        self.orders[order_id].book_seq = seq
        self.stops = toggle_stop(self.stops, order_id, True)

    def fill(self, taker_id: str, maker_id: str, price: int, qty: int, maker_left: int | None = None) -> None:
        """One trade; ``maker_left``: what the engine's book says the maker keeps (checked)."""
        taker, maker = self.orders[taker_id], self.orders[maker_id]
        if maker_left is not None:
            self._check_resting(maker, maker_left + qty)
        buy, sell = (taker, maker) if taker.is_buy else (maker, taker)
        seq = self.stock.trade_seq + 1
        trade = Trade(
            id=self._new_id(),
            symbol=self.symbol,
            seq=seq,
            price=price,
            quantity=qty,
            aggressor_side=taker.side,
            executed_at=self.now,
            buy_order_id=buy.id,
            sell_order_id=sell.id,
        )
        self._settle_buyer(buy, price, qty)
        self._settle_seller(sell, price, qty)
        self._stock_trade(price, qty, seq)
        self._candle_trade(TradePoint(seq, self.now, price, qty))
        self._trades.append(trade)
        self._events.append(TradeEvent(trade))
        for order, liquidity in ((maker, "maker"), (taker, "taker")):
            self._fill_order(order, trade, liquidity)

    def cancel_remainder(self, order_id: str, reason: str, remaining: int | None = None) -> None:
        """Cancel what is left of an order; ``remaining``: what the engine says it had (checked)."""
        o = self.orders[order_id]
        if remaining is not None:
            self._check_resting(o, remaining)
        if o.waiting and o.book_seq is not None:  # an untriggered stop (armed, not just placed)
            self.stops = toggle_stop(self.stops, o.id, False)
        self._release_reservation(o)
        expired = reason == "expired"
        o.status = OrderStatus.EXPIRED.value if expired else OrderStatus.CANCELLED.value
        o.cancel_reason, o.updated_at, o.book_seq = reason, self.now, None
        self._touch(o)
        self._events.append(
            OrderEvent("ORDER_EXPIRED" if expired else "ORDER_CANCELLED", dataclasses.replace(o))
        )

    def reject(self, order_id: str, seq: int, reason: str) -> None:
        """A new order refused whole by the matcher (the stock is halted): its whole reservation goes
        back, it becomes ``rejected`` and its user gets ORDER_REJECTED (no ORDER_ACCEPTED)."""
        o = self.orders[order_id]
        self.next_seq = max(self.next_seq, seq + 1)
        self._release_reservation(o)
        o.status, o.reject_reason = OrderStatus.REJECTED.value, reason
        o.updated_at, o.book_seq = self.now, None
        self._touch(o)
        self._events.append(OrderEvent("ORDER_REJECTED", dataclasses.replace(o), reason=reason))

    def set_status(self, status: str) -> None:
        """A halt or resume: the stock's trading status, written on its STOCK item."""
        self.stock.status = status
        self._status = status

    def _release_reservation(self, o: Order) -> None:
        """All that ``o`` still holds back returns to its owner's available cash or shares."""
        if o.is_buy:
            self._move_cash(o.user_id, available=o.reserved_cash, reserved=-o.reserved_cash)
            o.reserved_cash = 0
        else:
            h = self._holding(o.user_id)
            h.reserved_delta -= o.reserved_quantity
            h.available_delta += o.reserved_quantity
            o.reserved_quantity = 0

    def _check_resting(self, o: Order, remaining: int) -> None:
        """The engine's book is rebuilt from an index that may lag: an order it holds that the
        table does not show resting with that much left is a stale state, never a second fill."""
        if o.status not in RESTING or o.remaining_quantity != remaining:
            raise StaleState(
                f"order {o.id} is {o.status} with {o.remaining_quantity} left; the book said {remaining}"
            )

    # ------------------------------------------------------------------ money rules
    def _settle_buyer(self, buy: Order, price: int, qty: int) -> None:
        """Pays price x qty out of the reservation, gets the price improvement back at once."""
        per_share = buy.reservation_price or 0
        self._move_cash(buy.user_id, available=(per_share - price) * qty, reserved=-per_share * qty)
        buy.reserved_cash -= per_share * qty
        h = self._holding(buy.user_id)
        h.available_delta += qty
        h.cost_basis += price * qty

    def _settle_seller(self, sell: Order, price: int, qty: int) -> None:
        """Reserved shares leave at their average cost; price x qty lands in available cash."""
        h = self._holding(sell.user_id)
        held = h.held()
        removed = div_round_half_up(h.cost_basis * qty, held) if held else 0
        h.reserved_delta -= qty
        h.cost_basis -= removed
        h.realized_pnl += price * qty - removed
        sell.reserved_quantity -= qty
        self._move_cash(sell.user_id, available=price * qty)

    def _fill_order(self, o: Order, trade: Trade, liquidity: str) -> None:
        o.filled_quantity += trade.quantity
        o.remaining_quantity -= trade.quantity
        o.fill_cost += trade.price * trade.quantity
        o.updated_at = self.now
        if o.remaining_quantity == 0:
            o.status, o.book_seq = OrderStatus.FILLED.value, None
            if o.is_buy and o.reserved_cash:
                # nothing is left to buy: whatever is still reserved goes back (never negative)
                self._move_cash(o.user_id, available=o.reserved_cash, reserved=-o.reserved_cash)
                o.reserved_cash = 0
        else:
            o.status = OrderStatus.PARTIALLY_FILLED.value
        fill = OrderFill(
            trade_id=trade.id,
            seq=trade.seq,
            order_id=o.id,
            user_id=o.user_id,
            symbol=self.symbol,
            side=o.side,
            price=trade.price,
            quantity=trade.quantity,
            liquidity=liquidity,
            executed_at=self.now,
        )
        self._touch(o)
        self._fills.append(fill)
        self._events.append(OrderEvent("ORDER_FILLED", dataclasses.replace(o), fill))

    def _stock_trade(self, price: int, qty: int, seq: int) -> None:
        s = self.stock
        if s.day != self.today:
            s.day, s.open, s.high, s.low, s.volume = self.today, price, price, price, 0
        s.high = max(s.high or price, price)
        s.low = min(s.low or price, price)
        s.volume += qty
        s.last_price, s.trade_seq, s.updated_at = price, seq, self.now
        if s.candles_from is None:  # a stock that traded before candles were kept: from this trade on
            s.candles_from = seq
        self._stock_changed = True

    def _candle_trade(self, t: TradePoint) -> None:
        for key in keys_at(t.executed_at):
            self._candles[key] = add_trade(self._candles.get(key), key[0], t)
            self._changed_candles[key] = None

    def _move_cash(self, user_id: str, *, available: int = 0, reserved: int = 0) -> None:
        d = self._cash.setdefault(user_id, CashDelta())
        d.available += available
        d.reserved += reserved

    def _holding(self, user_id: str) -> WorkingHolding:
        h = self._holdings.get(user_id)
        if h is None:
            raise KeyError(f"holding of {user_id} was not read")
        self._changed_holdings[user_id] = None
        return h

    def _touch(self, o: Order) -> None:
        self._touched[o.id] = None

    # ------------------------------------------------------------------ output
    def take_commit(self, levels: Levels, *, partial: bool = False) -> Commit:
        """Everything changed since the last commit, conditional on what it was computed from, with
        the book's snapshot ``levels``; ``partial``: an order's fills continue after this commit
        (``levels`` are then the book as stored by it: the makers taken so far gone, the order not
        resting yet)."""
        bids, asks = levels
        version = self.version + 1
        events = list(self._events)
        sequence = self.sequence
        if (bids, asks) != self._levels:
            sequence += 1
            events.append(BookEvent(sequence, bids, asks, self.now))
        batch = BatchCommit(
            symbol=self.symbol,
            expected_version=self.version,
            book=BookWrite(self.symbol, version, self.next_seq, bids, asks, partial, self.now, sequence),
        )
        batch.book.stops = self.stops
        if self.in_flight is not None:
            flying = self.orders[self.in_flight]
            batch.book.resume = (flying.user_id, flying.id, self.in_flight_seq)
        s = self.stock
        if self._stock_changed:
            assert s.day and s.open and s.high and s.low and s.last_price and s.candles_from
            day = (s.day, s.open, s.high, s.low, s.volume, s.last_price, s.trade_seq, s.updated_at)
            batch.stock = StockWrite(*day, s.candles_from)
        for oid in self._touched:
            status, filled, cancel_requested = self._expected[oid]
            batch.orders[oid] = OrderWrite(self._written_order(oid), status, filled, cancel_requested)
        batch.fills, batch.trades, batch.cash = list(self._fills), list(self._trades), dict(self._cash)
        for uid in self._changed_holdings:
            h = self._holdings[uid]
            batch.holdings[uid] = HoldingWrite(
                user_id=uid,
                symbol=self.symbol,
                available_delta=h.available_delta,
                reserved_delta=h.reserved_delta,
                cost_basis=h.cost_basis,
                realized_pnl=h.realized_pnl,
                expected_cost_basis=h.base.cost_basis if h.base.exists else None,
                mark_price=s.last_price,
            )
        base, changed = self._candle_base, self._changed_candles
        batch.candles = [CandleWrite(self.symbol, self._candles[k], base.get(k)) for k in changed]
        batch.status = self._status
        self._committed(batch, levels)
        return Commit(batch, events)

    def _written_order(self, oid: str) -> Order:
        o = self.orders[oid]
        if oid == self.in_flight:
            return dataclasses.replace(
                o, status=OrderStatus.PENDING.value, pending_since=self._in_flight_since
            )
        # out of the pending index, unless a cancel request still waits for its message
        keep = o.cancel_requested and not o.is_final
        return dataclasses.replace(o, pending_since=o.pending_since if keep else None)

    def _committed(self, batch: BatchCommit, levels: Levels) -> None:
        """What was just written is the new baseline (and only that)."""
        self.version, self.sequence = batch.book.version, batch.book.sequence
        self._levels = levels
        for oid, w in batch.orders.items():
            self._expected[oid] = (w.order.status, w.order.filled_quantity, w.order.cancel_requested)
        for uid in batch.holdings:
            self._holdings[uid] = WorkingHolding.of(self._holdings[uid].written())
        for cw in batch.candles:
            self._candle_base[(cw.candle.interval, cw.candle.start)] = cw.candle.last_seq
        self._reset()
