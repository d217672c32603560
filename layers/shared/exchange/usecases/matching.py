"""The matcher's use case: match one stock's messages in FIFO order against its book and settle them
in one conditional transaction (book version n -> n+1).

The book is cached per container and checked against the stored book version; a stale or missing
book is rebuilt from the stored resting orders in their arrival sequence. Every write is conditional
on the state it was computed from, so a redelivered message finds nothing to do (its order is no
longer ``pending``) and a batch matched against a stale book is refused as a whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exchange import keys
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.batch import BatchCommit, CashDelta, HoldingWrite, OrderWrite
from exchange.domain.engine import BUY, SELL, Cancelled, Fill, OrderBook, Rested
from exchange.domain.errors import StaleState
from exchange.domain.money import div_round_half_up, format_cents
from exchange.ids import iso_ms, new_id, now_ms, trading_day
from exchange.observability import logger
from exchange.views import book_levels, book_view, fill_view, order_view

SNAPSHOT_DEPTH = 100
EVENT_DEPTH = 10
# flush a commit at a message boundary once it holds this many operations (DynamoDB's limit is 100)
FLUSH_AT_OPS = 60
MAX_OPS = 100
# the most one fill adds: trade, two fills, the maker order, the maker's cash and holding
OPS_PER_FILL = 6


@dataclass
class _Holding:
    """A holding of the batch's stock: the stored state it was read in (or last committed), and
    what the batch changes. Share counts move as deltas (``ADD``: the api reserves meanwhile); the
    cost basis is written absolute, conditional on the value it was computed from."""

    available: int = 0
    reserved: int = 0
    cost_basis: int = 0
    realized_pnl: int = 0
    exists: bool = False
    available_delta: int = 0
    reserved_delta: int = 0
    new_cost_basis: int = 0
    new_realized_pnl: int = 0

    def __post_init__(self) -> None:
        self.new_cost_basis, self.new_realized_pnl = self.cost_basis, self.realized_pnl

    @classmethod
    def read(cls, item: dict[str, Any] | None) -> _Holding:
        if item is None:
            return cls()
        return cls(
            int(item.get("available", 0)),
            int(item.get("reserved", 0)),
            int(item.get("cost_basis", 0)),
            int(item.get("realized_pnl", 0)),
            exists="cost_basis" in item,
        )

    def held(self) -> int:
        return self.available + self.reserved + self.available_delta + self.reserved_delta

    def changed(self) -> bool:
        return bool(
            self.available_delta
            or self.reserved_delta
            or self.new_cost_basis != self.cost_basis
            or self.new_realized_pnl != self.realized_pnl
        )

    def after_commit(self) -> _Holding:
        return _Holding(
            self.available + self.available_delta,
            self.reserved + self.reserved_delta,
            self.new_cost_basis,
            self.new_realized_pnl,
            exists=True,
        )


@dataclass(frozen=True)
class Message:
    kind: str  # new | cancel | expire
    symbol: str
    order_id: str
    user_id: str


class Matcher:
    def __init__(
        self, store: ExchangeStore, *, clock: Callable[[], int] = now_ms, close_minute_utc: int = 0
    ) -> None:
        self.store = store
        self.clock = clock
        self.close_minute_utc = close_minute_utc
        self.books: dict[str, OrderBook] = {}  # per container, between invocations

    def process(self, symbol: str, messages: list[Message]) -> None:
        """All of one stock's messages of a batch, in order. Raises if they could not be committed
        (the caller reports them as failed; SQS redelivers them in order)."""
        try:
            self._process(symbol, messages)
        except Exception:
            self.books.pop(symbol, None)  # whatever it holds may not be what is stored
            raise

    # ------------------------------------------------------------------ internals
    def _load_book(self, symbol: str) -> tuple[OrderBook, dict[str, Any]]:
        stored = self.store.book(symbol)
        if stored is None:
            raise StaleState(f"no book for {symbol}")
        version = int(stored["version"])
        book = self.books.get(symbol)
        if book is None or book.version != version:
            resting = self.store.resting_orders(symbol)
            book = OrderBook.rebuild(
                symbol,
                (
                    (
                        o["id"],
                        o["user_id"],
                        BUY if o["side"] == "buy" else SELL,
                        _price_of(o),
                        int(o["remaining_quantity"]),
                    )
                    for o in resting
                ),
                version,
            )
            _check_rebuilt(book, stored)
            self.books[symbol] = book
        return book, stored

    def _process(self, symbol: str, messages: list[Message]) -> None:
        book, stored = self._load_book(symbol)
        stock = self.store.stock(symbol)
        if stock is None:
            raise StaleState(f"no stock {symbol}")
        orders = self.store.orders_by_key([(m.user_id, m.order_id) for m in messages])
        builder = _BatchBuilder(
            self.store, symbol, book, stock, stored, orders, self.clock(), self.close_minute_utc, self._commit
        )
        for message in messages:
            if message.kind == "new":
                builder.new_order(orders.get(message.order_id))
            else:
                builder.cancel(message.order_id, "expired" if message.kind == "expire" else "user")
            if builder.op_count() >= FLUSH_AT_OPS:
                self._commit(builder)
        if builder.has_changes():
            self._commit(builder)

    def _commit(self, builder: _BatchBuilder) -> None:
        commit = builder.build()
        self.store.commit_batch(commit)
        builder.book.version = commit.book["version"]
        logger.info(
            "batch committed",
            symbol=builder.symbol,
            version=commit.book["version"],
            trades=len(commit.trades),
            orders=len(commit.orders),
        )
        builder.committed(commit)


def _price_of(order: dict[str, Any]) -> int:
    return int(order["limit_price"] if order.get("limit_price") is not None else order["price_bound"])


def _check_rebuilt(book: OrderBook, stored: dict[str, Any]) -> None:
    """The rebuilt book must show the levels the stored snapshot shows (an index may lag), unless
    the last commit was the first part of one order's fills (its snapshot is the one before)."""
    if stored.get("partial"):
        return
    bids, asks = book.depth(SNAPSHOT_DEPTH)
    if ([list(x) for x in bids], [list(x) for x in asks]) != book_levels(stored):
        raise StaleState(f"rebuilt book of {stored.get('symbol')} differs from its snapshot")


class _BatchBuilder:
    """Applies the engine's events to working copies of the items they touch."""

    def __init__(
        self,
        store: ExchangeStore,
        symbol: str,
        book: OrderBook,
        stock: dict[str, Any],
        stored_book: dict[str, Any],
        orders: dict[str, dict[str, Any]],
        now: int,
        close_minute_utc: int,
        commit: Callable[[_BatchBuilder], None],
    ) -> None:
        self.store, self.symbol, self.book, self.now = store, symbol, book, now
        self.commit = commit
        # the incoming order whose fills are being applied: if its fills need more than one
        # transaction, the earlier ones store it as still ``pending`` (a replay resumes it)
        self.in_flight: dict[str, Any] | None = None
        self.pending_since = now
        self.close_minute_utc = close_minute_utc
        self.stock = stock
        self.stored_book = stored_book
        self.version = int(stored_book["version"])
        self.next_seq = int(stored_book.get("next_seq", 1))
        self.orders = orders  # id -> working copy
        self.expected: dict[str, tuple[str, int, bool]] = {
            oid: (o["status"], int(o["filled_quantity"]), bool(o.get("cancel_requested", False)))
            for oid, o in orders.items()
        }
        self.touched: set[str] = set()
        self.fills: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.cash: dict[str, CashDelta] = {}
        self.holdings: dict[str, _Holding] = {}  # user id -> holding of this stock
        self.events: list[dict[str, Any]] = []
        self.stock_changed = False

    # ------------------------------------------------------------------ bookkeeping
    def op_count(self) -> int:
        return (
            2 + len(self.touched) + len(self.fills) + len(self.trades) + len(self.cash) + len(self.holdings)
        )

    def has_changes(self) -> bool:
        return bool(self.touched or self.events)

    def committed(self, commit: BatchCommit) -> None:
        """What was just committed is the new baseline; carry on with empty accumulators."""
        self.stored_book = {**self.stored_book, **commit.book}
        self.version = int(commit.book["version"])
        self.expected = {
            oid: (
                w.item["status"],
                int(w.item["filled_quantity"]),
                bool(w.item.get("cancel_requested", False)),
            )
            for oid, w in commit.orders.items()
        } | {oid: e for oid, e in self.expected.items() if oid not in commit.orders}
        self.holdings = {user: h.after_commit() for user, h in self.holdings.items()}
        self.touched, self.fills, self.trades, self.cash, self.events = set(), [], [], {}, []
        self.stock_changed = False

    # ------------------------------------------------------------------ messages
    def new_order(self, order: dict[str, Any] | None) -> None:
        if order is None or order["status"] != "pending":
            return  # unknown, or already taken by an earlier delivery of this message
        oid = order["id"]
        seq = self.next_seq
        self.next_seq += 1
        order["status"] = "open"
        order["updated_at"] = self.now
        self.pending_since = order.pop("pending_since", self.now)
        order.pop("pending_shard", None)
        self.touched.add(oid)
        self._order_event("ORDER_ACCEPTED", order)
        if order.get("cancel_requested"):
            self._cancel_remainder(order, "user")
            return
        is_market = order["order_type"] == "market"
        events = self.book.submit(
            oid,
            order["user_id"],
            BUY if order["side"] == "buy" else SELL,
            int(order["remaining_quantity"]),
            _price_of(order),
            "ioc" if is_market else order["tif"],
            is_market=is_market,
        )
        self._load_counterparties(order, events)
        self.in_flight = order
        for ev in events:
            if isinstance(ev, Fill):
                if self.op_count() + OPS_PER_FILL > MAX_OPS:
                    self.commit(self)  # this order's fills need more than one transaction
                self._fill(order, self.orders[ev.maker_id], ev.price, ev.qty)
            elif isinstance(ev, Rested):
                order["book_symbol"] = self.symbol
                order["book_seq"] = seq
            elif isinstance(ev, Cancelled):
                self._cancel_remainder(order, ev.reason)
        self.in_flight = None

    def cancel(self, order_id: str, reason: str) -> None:
        order = self.orders.get(order_id)
        if order is None or order_id not in self.book:
            return  # unknown, or no longer resting (filled, cancelled, or a replay)
        ev = self.book.cancel(order_id, reason)
        if ev is None:
            return
        self._load_holdings([order["user_id"]])
        self.touched.add(order_id)
        self._cancel_remainder(order, reason)

    # ------------------------------------------------------------------ loading
    def _load_counterparties(self, taker: dict[str, Any], events: list[Any]) -> None:
        makers = [
            (ev.maker_user_id, ev.maker_id)
            for ev in events
            if isinstance(ev, Fill) and ev.maker_id not in self.orders
        ]
        if makers:
            loaded = self.store.orders_by_key(makers)
            missing = {m for _, m in makers} - loaded.keys()
            if missing:
                raise StaleState(f"resting orders missing from the table: {sorted(missing)}")
            for oid, item in loaded.items():
                self.orders[oid] = item
                self.expected[oid] = (
                    item["status"],
                    int(item["filled_quantity"]),
                    bool(item.get("cancel_requested", False)),
                )
        users = [taker["user_id"]] + [ev.maker_user_id for ev in events if isinstance(ev, Fill)]
        self._load_holdings(users)

    def _load_holdings(self, users: list[str]) -> None:
        wanted = [u for u in dict.fromkeys(users) if u not in self.holdings]
        if wanted:
            found = self.store.holdings_many([(u, self.symbol) for u in wanted])
            for user in wanted:
                self.holdings[user] = _Holding.read(found.get((user, self.symbol)))

    # ------------------------------------------------------------------ money
    def _cash(self, user_id: str) -> CashDelta:
        return self.cash.setdefault(user_id, CashDelta())

    def _fill(self, taker: dict[str, Any], maker: dict[str, Any], price: int, qty: int) -> None:
        seq = int(self.stock.get("trade_seq", 0)) + 1
        self.stock["trade_seq"] = seq
        trade_id = new_id()
        self.touched.update((maker["id"], taker["id"]))
        buy_order = taker if taker["side"] == "buy" else maker
        sell_order = maker if buy_order is taker else taker
        # buyer: pays price x qty out of the reservation, gets the price improvement back at once
        reserved_per_share = int(buy_order["reservation_price"])
        buyer_cash = self._cash(buy_order["user_id"])
        buyer_cash.reserved -= reserved_per_share * qty
        buyer_cash.available += (reserved_per_share - price) * qty
        buy_order["reserved_cash"] = int(buy_order["reserved_cash"]) - reserved_per_share * qty
        bh = self.holdings[buy_order["user_id"]]
        bh.available_delta += qty
        bh.new_cost_basis += price * qty
        # seller: reserved shares leave, price x qty lands in available cash
        sh = self.holdings[sell_order["user_id"]]
        held = sh.held()
        removed = div_round_half_up(sh.new_cost_basis * qty, held) if held else 0
        sh.reserved_delta -= qty
        sh.new_cost_basis -= removed
        sh.new_realized_pnl += price * qty - removed
        sell_order["reserved_quantity"] = int(sell_order["reserved_quantity"]) - qty
        self._cash(sell_order["user_id"]).available += price * qty
        self._stock_trade(price, qty, seq)
        trade = {
            "pk": keys.trades(self.symbol),
            "sk": keys.seq_sk(seq),
            "type": "trade",
            "id": trade_id,
            "symbol": self.symbol,
            "seq": seq,
            "price": price,
            "quantity": qty,
            "aggressor_side": taker["side"],
            "executed_at": self.now,
            "buy_order_id": buy_order["id"],
            "sell_order_id": sell_order["id"],
        }
        self.trades.append(trade)
        self.events.append(
            {
                "type": "TRADE_EXECUTED",
                "channel": f"stock:{self.symbol}",
                "data": {
                    "trade_id": trade_id,
                    "symbol": self.symbol,
                    "price": format_cents(price),
                    "quantity": qty,
                    "aggressor_side": taker["side"],
                    "sequence": seq,
                    "executed_at": iso_ms(self.now),
                },
            }
        )
        for order, liquidity in ((maker, "maker"), (taker, "taker")):
            order["filled_quantity"] = int(order["filled_quantity"]) + qty
            order["remaining_quantity"] = int(order["remaining_quantity"]) - qty
            order["fill_cost"] = int(order.get("fill_cost", 0)) + price * qty
            order["updated_at"] = self.now
            if order["remaining_quantity"] == 0:
                order["status"] = "filled"
                order.pop("book_symbol", None)
                order.pop("book_seq", None)
                if order["side"] == "buy" and order["reserved_cash"]:
                    # nothing is left to buy: whatever is still reserved goes back (never negative)
                    self._cash(order["user_id"]).reserved -= int(order["reserved_cash"])
                    self._cash(order["user_id"]).available += int(order["reserved_cash"])
                    order["reserved_cash"] = 0
            else:
                order["status"] = "partially_filled"
            fill = {
                "pk": keys.user(order["user_id"]),
                "sk": keys.fill_sk(order["id"], seq),
                "type": "fill",
                "trade_id": trade_id,
                "order_id": order["id"],
                "user_id": order["user_id"],
                "symbol": self.symbol,
                "side": order["side"],
                "price": price,
                "quantity": qty,
                "liquidity": liquidity,
                "executed_at": self.now,
                "gsi1pk": keys.user_fills_gsi(order["user_id"]),
                "gsi1sk": f"{self.now:015d}#{keys.seq_sk(seq)}#{order['id']}",
            }
            self.fills.append(fill)
            self._order_event("ORDER_FILLED", order, fill=fill_view(fill))

    def _cancel_remainder(self, order: dict[str, Any], reason: str) -> None:
        uid = order["user_id"]
        if order["side"] == "buy":
            amount = int(order["reserved_cash"])
            cash = self._cash(uid)
            cash.reserved -= amount
            cash.available += amount
            order["reserved_cash"] = 0
        else:
            self._load_holdings([uid])
            qty = int(order["reserved_quantity"])
            h = self.holdings[uid]
            h.reserved_delta -= qty
            h.available_delta += qty
            order["reserved_quantity"] = 0
        order["status"] = "expired" if reason == "expired" else "cancelled"
        order["cancel_reason"] = reason
        order["updated_at"] = self.now
        order.pop("book_symbol", None)
        order.pop("book_seq", None)
        self._order_event("ORDER_EXPIRED" if reason == "expired" else "ORDER_CANCELLED", order)

    def _stock_trade(self, price: int, qty: int, seq: int) -> None:
        s = self.stock
        today = trading_day(self.now, self.close_minute_utc)
        if s.get("day") != today:
            s.update(day=today, open=price, high=price, low=price, volume=0)
        s["high"] = max(int(s["high"]), price)
        s["low"] = min(int(s["low"]), price)
        s["volume"] = int(s.get("volume", 0)) + qty
        s["last_price"] = price
        s["trade_seq"] = seq
        s["updated_at"] = self.now
        self.stock_changed = True

    def _order_event(self, kind: str, order: dict[str, Any], **extra: Any) -> None:
        view = order_view(order)
        if kind == "ORDER_ACCEPTED":
            view.update(status="open", filled_quantity=0)
        self.events.append({"type": kind, "channel": f"user:{order['user_id']}", "data": {**view, **extra}})

    # ------------------------------------------------------------------ output
    def build(self) -> BatchCommit:
        partial = self.in_flight is not None
        if partial:
            # the engine is already past the whole order; the stored orders are not yet: keep the
            # last full snapshot and say so (a rebuild then trusts the stored orders)
            bids_json, asks_json = self.stored_book["bids"], self.stored_book["asks"]
        else:
            bids, asks = self.book.depth(SNAPSHOT_DEPTH)
            bids_json = json.dumps([list(x) for x in bids], separators=(",", ":"))
            asks_json = json.dumps([list(x) for x in asks], separators=(",", ":"))
        version = self.version + 1
        new_book = {
            "symbol": self.symbol,
            "version": version,
            "next_seq": self.next_seq,
            "bids": bids_json,
            "asks": asks_json,
            "partial": partial,
            "updated_at": self.now,
        }
        events = list(self.events)
        if (bids_json, asks_json) != (self.stored_book["bids"], self.stored_book["asks"]):
            events.append(
                {
                    "type": "ORDER_BOOK_UPDATED",
                    "channel": f"stock:{self.symbol}",
                    "data": book_view(self.symbol, new_book, EVENT_DEPTH),
                }
            )
        new_book["events"] = json.dumps(events, separators=(",", ":"))
        commit = BatchCommit(symbol=self.symbol, expected_version=self.version, book=new_book)
        if self.stock_changed:
            commit.stock_updates = {
                k: self.stock[k]
                for k in ("day", "open", "high", "low", "volume", "last_price", "trade_seq", "updated_at")
            }
        for oid in self.touched:
            status, filled, cancel_requested = self.expected[oid]
            item = copy.deepcopy(self.orders[oid])
            if self.in_flight is not None and oid == self.in_flight["id"]:
                item.update(
                    status="pending", pending_shard=keys.PENDING_SHARD, pending_since=self.pending_since
                )
            commit.orders[oid] = OrderWrite(item, status, filled, cancel_requested)
        commit.fills = list(self.fills)
        commit.trades = list(self.trades)
        commit.cash = {u: d for u, d in self.cash.items() if d.available or d.reserved}
        for uid, h in self.holdings.items():
            if h.changed():
                commit.holdings[(uid, self.symbol)] = HoldingWrite(
                    user_id=uid,
                    symbol=self.symbol,
                    available_delta=h.available_delta,
                    reserved_delta=h.reserved_delta,
                    cost_basis=h.new_cost_basis,
                    realized_pnl=h.new_realized_pnl,
                    expected_cost_basis=h.cost_basis if h.exists else None,
                )
        return commit
