"""The matcher's use case: match one stock's messages in FIFO order against its book and settle
them in conditional transactions (book version n -> n+1 each).

The flow goes one way: read (the stored book, the stock, the messages' orders) -> the engine
(pure) -> read the makers and everyone's holdings once -> settle (pure, domain) -> write the
commits. The engine's book is cached per container and checked against the stored version; a
stale or missing book is rebuilt from the stored resting orders. Every write is conditional on
the state it was computed from, so a redelivered message finds nothing to do (its order is no
longer ``pending``) and a batch matched against a stale state is refused: then the matcher drops
its cached book, reloads and matches again (bounded, with jittered backoff) before it fails the
stock's messages back to SQS.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from exchange.domain.audit import attach_log
from exchange.domain.batch import stops_digest
from exchange.domain.candles import keys_at
from exchange.domain.engine import Cancelled, Fill
from exchange.domain.errors import StaleState
from exchange.domain.market import HALTED
from exchange.domain.money import format_cents
from exchange.domain.records import Order, StoredBook
from exchange.domain.settlement import Ledger, settle
from exchange.domain.steps import BookEvent, Event, Levels, OrderEvent, Step, TradeEvent
from exchange.ids import iso_ms, new_id, now_ms, trading_day
from exchange.observability import logger
from exchange.usecases.matching.port import Counterparties, MatcherStore
from exchange.usecases.matching.sequence import CONTROL, Message, StockMarket, levels, match_messages, rebuild

__all__ = ["Matcher", "Message", "event_view", "holding_users"]
from exchange.views import fill_view, levels_view, order_view

EVENT_DEPTH = 10
ATTEMPTS = 4  # a stale state is retried within the invocation this many times in all
BACKOFF_S = 0.05  # first retry after 25-75 ms, then doubling


class Matcher:
    def __init__(
        self,
        store: MatcherStore,
        *,
        clock: Callable[[], int] = now_ms,
        close_minute_utc: int = 0,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self.close_minute_utc = close_minute_utc
        self.attempts = attempts
        self.sleep = sleep
        self.books: dict[str, StockMarket] = {}  # per container, between invocations

    def process(self, symbol: str, messages: list[Message]) -> None:
        """All of one stock's messages of a batch, in order. Raises if they could not be committed
        (the caller reports them as failed; SQS redelivers them in order)."""
        for attempt in range(1, self.attempts + 1):
            try:
                self._process(symbol, messages)
                return
            except StaleState as exc:
                self.books.pop(symbol, None)  # whatever it holds may not be what is stored
                if attempt == self.attempts:
                    raise
                delay = BACKOFF_S * 2 ** (attempt - 1) * (0.5 + random.random())
                logger.warning(
                    "stale state; reloading and matching again",
                    symbol=symbol,
                    attempt=attempt,
                    reason=str(exc),
                    delay_ms=round(delay * 1000),
                )
                self.sleep(delay)
            except BaseException:
                self.books.pop(symbol, None)
                raise

    # ------------------------------------------------------------------ the flow
    def _process(self, symbol: str, messages: list[Message]) -> None:
        # read: the stored book, the stock and the messages' orders
        refs = [(m.user_id, m.order_id) for m in messages if m.kind not in CONTROL]
        loaded = self.store.load(symbol, refs)
        stored, stock, orders = loaded.book, loaded.stock, dict(loaded.orders)
        if stored is None or stock is None:
            raise StaleState(f"no book or stock for {symbol}")
        book = self._book(symbol, stored, stock.last_price, stock.status == HALTED)
        # match (pure)
        now = self.clock()
        today = trading_day(now, self.close_minute_utc)

        def day_over(at: int) -> bool:
            return trading_day(at, self.close_minute_utc) != today

        resume = None
        if stored.resume is not None:  # a split commit left this order mid-fills: it goes first
            user_id, order_id, at = stored.resume
            if order_id not in orders:
                orders |= self.store.load(symbol, [(user_id, order_id)]).orders
            if order_id not in orders:
                raise StaleState(f"order {order_id} to resume is missing")
            resume = (orders[order_id], at)
        if book.overdue:  # read from the index: the table says what they are now
            orders |= self.store.load(symbol, [(o.user_id, o.id) for o in book.overdue]).orders
            book.overdue = [orders[o.id] for o in book.overdue if o.id in orders and orders[o.id].waiting]
        initial = (stored.bids, stored.asks)
        steps = match_messages(book, messages, orders, stored.next_seq, day_over, resume, initial)
        if not steps:
            return
        # read: the makers and the holdings settlement changes, once (none: no read at all)
        fills = [ev for step in steps for ev in step.events if isinstance(ev, Fill)]
        makers = {ev.maker_id: ev.maker_user_id for ev in fills if ev.maker_id not in orders}
        triggered = {s.order_id: s.user_id for s in steps if s.trigger_price is not None and s.user_id}
        makers |= {oid: u for oid, u in triggered.items() if oid not in orders}
        users = holding_users(steps, orders, fills) | set(triggered.values())
        # (the candles a trade now goes into: every trade of the batch executes at ``now``)
        candles = keys_at(now) if fills else []
        if makers or users or candles:
            found = self.store.counterparties(
                symbol, [(u, oid) for oid, u in makers.items()], sorted(users), candles
            )
        else:  # orders that only rest, buys cancelled: settlement changes no holding
            found = Counterparties()
        missing = makers.keys() - found.orders.keys()
        if missing:
            raise StaleState(f"resting orders missing from the table: {sorted(missing)}")
        orders |= found.orders
        # a day order of a closed day whose expiry is not sequenced yet never trades: expire it first
        taken = {ev.maker_id for ev in fills} | triggered.keys()
        closed = sorted(m for m in taken if orders[m].tif == "day" and day_over(orders[m].created_at))
        if closed:
            self.books.pop(symbol, None)  # the engine took them: match again with them expired first
            expiries = [Message("expire", symbol, m, orders[m].user_id) for m in closed]
            return self._process(symbol, expiries + messages)
        # settle (pure)
        ledger = Ledger(stock, stored, orders, found.holdings, now, today, new_id, found.candles)
        commits = settle(ledger, steps)
        attach_log(commits, steps, orders, now, stored.log_seq)  # the audit log, in the same commits
        # write
        for commit in commits:
            commit.batch.book.events = [event_view(symbol, e) for e in commit.events]
            self.store.commit(commit.batch)
            book.version = commit.batch.book.version
            logger.info(
                "batch committed",
                symbol=symbol,
                version=commit.batch.book.version,
                trades=len(commit.batch.trades),
                orders=len(commit.batch.orders),
                ops=commit.batch.op_count(),
            )

    def _book(self, symbol: str, stored: StoredBook, last_price: int | None, halted: bool) -> StockMarket:
        book = self.books.get(symbol)
        if book is None or book.version != stored.version:
            resting = self.store.resting_orders(symbol)
            try:
                book = rebuild(symbol, resting, last_price, halted, stored.version)
            except ValueError as exc:
                # a crossed or duplicated view: the index (a GSI) lags item by item; reload
                raise StaleState(f"the resting orders of {symbol} do not make a book: {exc}") from exc
            # the index must show every waiting stop and no other (they are not in the levels)
            if stops_digest(o.id for o in resting if o.waiting) != stored.stops:
                raise StaleState(f"the waiting stops of {symbol} in the index differ from the book's")
            # the rebuilt book must show the stored snapshot's levels (the index may lag)
            if not _shows(levels(book), (stored.bids, stored.asks), stored.partial):
                raise StaleState(f"rebuilt book of {symbol} differs from its snapshot")
            self.books[symbol] = book
        return book


def holding_users(steps: list[Step], orders: dict[str, Order], fills: list[Fill]) -> set[str]:
    """The users whose holding of the stock settlement changes: both sides of every fill, and
    every sell whose remainder is cancelled (its reserved shares go back); a buy's cancel and an
    order that rests touch only cash and the order."""
    users = {ev.maker_user_id for ev in fills}
    users |= {orders[ev.taker_id].user_id for ev in fills if ev.taker_id in orders}  # else: a triggered stop
    for s in steps:
        if s.status is not None or s.order_id not in orders:
            continue  # a halt or resume; a triggered stop (its owner is read anyway)
        o = orders[s.order_id]
        released = s.cancel_reason is not None or s.reject_reason is not None
        if not o.is_buy and (released or any(isinstance(e, Cancelled) for e in s.events)):
            users.add(o.user_id)
    return users


def _shows(rebuilt: Levels, stored: Levels, partial: bool) -> bool:
    """Does the rebuilt book show the stored snapshot? After the first part of a split sweep the
    snapshot was computed from the top levels before it, minus the makers taken: levels deeper than
    those may have come into view, so only its own levels are compared."""
    if not partial:
        return rebuilt == stored
    return all(r[: len(s)] == s for r, s in zip(rebuilt, stored, strict=True))


def event_view(symbol: str, event: Event) -> dict[str, Any]:
    """A settled event in the contract's shape (the notifier sends it as stored)."""
    if isinstance(event, OrderEvent):
        data = order_view(asdict(event.order))
        if event.fill is not None:
            data["fill"] = fill_view(asdict(event.fill))
        if event.reason is not None:
            data["reason"] = event.reason
        return {"type": event.type, "channel": f"user:{event.order.user_id}", "data": data}
    if isinstance(event, TradeEvent):
        t = event.trade
        return {
            "type": "TRADE_EXECUTED",
            "channel": f"stock:{symbol}",
            "data": {
                "trade_id": t.id,
                "symbol": symbol,
                "price": format_cents(t.price),
                "quantity": t.quantity,
                "aggressor_side": t.aggressor_side,
                "sequence": t.seq,
                "executed_at": iso_ms(t.executed_at),
            },
        }
    assert isinstance(event, BookEvent)
    return {
        "type": "ORDER_BOOK_UPDATED",
        "channel": f"stock:{symbol}",
        "data": levels_view(symbol, event.bids, event.asks, event.sequence, event.updated_at, EVENT_DEPTH),
    }
