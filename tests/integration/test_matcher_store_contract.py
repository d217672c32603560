"""One contract, two matcher stores: the DynamoDB adapter (moto in-process) and the in-memory one
the unit tests use, so the fake cannot drift from the real thing. Each test drives the real
Matcher use case through the store and checks what the store then holds."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pytest

from exchange.adapters.matcher_store import DynamoMatcherStore, order_to_item
from exchange.adapters.memory_matcher_store import Cash, MemoryMatcherStore
from exchange.domain.batch import BatchCommit
from exchange.domain.candles import keys_at
from exchange.domain.errors import StaleState
from exchange.domain.records import Holding, Order, Stock, StoredBook
from exchange.ids import new_id, now_ms
from exchange.usecases.matching import Matcher, MatcherStore, Message
from tests.factories import limit_order
from tests.integration.conftest import Exchange


class Backend(Protocol):
    store: Any

    def list_stock(self, symbol: str, reference: int) -> None: ...
    def user(self, cash: int, symbol: str, shares: int = 0) -> str: ...
    def place(self, order: Order) -> None: ...
    def request_cancel(self, order: Order) -> None: ...
    def cash(self, user: str) -> tuple[int, int]: ...
    def holding(self, user: str, symbol: str) -> Holding: ...
    def mark_price(self, user: str, symbol: str) -> int | None: ...
    def trades(self, symbol: str) -> int: ...


class DynamoBackend:
    def __init__(self, ex: Exchange) -> None:
        self.ex, self.store = ex, ex.matcher_store

    def list_stock(self, symbol: str, reference: int) -> None:
        self.ex.admin.list_stock(symbol, symbol, reference, 1)

    def user(self, cash: int, symbol: str, shares: int = 0) -> str:
        uid = new_id()
        self.ex.store.create_user({"id": uid, "email": f"{uid}@example.com", "created_at": now_ms()}, cash)
        if shares:
            self.ex.store.grant(uid, symbol, shares, shares * 100, now_ms(), None)
        return uid

    def place(self, order: Order) -> None:
        item = {k: v for k, v in order_to_item(order).items() if k not in ("pk", "sk")}
        self.ex.store.place_order(
            item, cash_amount=order.reserved_cash, share_quantity=order.reserved_quantity
        )

    def request_cancel(self, order: Order) -> None:
        self.ex.store.request_cancel(order.user_id, order.id, now_ms())

    def cash(self, user: str) -> tuple[int, int]:
        c = self.ex.store.cash(user) or {}
        return int(c["available"]), int(c["reserved"])

    def holding(self, user: str, symbol: str) -> Holding:
        return self.store.counterparties(symbol, [], [user]).holdings[user]

    def mark_price(self, user: str, symbol: str) -> int | None:
        return (self.ex.store.holding(user, symbol) or {}).get("mark_price")

    def trades(self, symbol: str) -> int:
        return len(self.ex.store.trades(symbol, 100))


class MemoryBackend:
    def __init__(self) -> None:
        self.store = MemoryMatcherStore()

    def list_stock(self, symbol: str, reference: int) -> None:
        self.store.stocks[symbol] = Stock(symbol, reference)
        self.store.books[symbol] = StoredBook(symbol, 1, 1, [], [])

    def user(self, cash: int, symbol: str, shares: int = 0) -> str:
        uid = new_id()
        self.store.cash[uid] = Cash(cash)
        if shares:
            self.store.holding_items[(uid, symbol)] = Holding(uid, symbol, shares, 0, shares * 100, 0, True)
        return uid

    def place(self, order: Order) -> None:
        c, key = self.store.cash[order.user_id], (order.user_id, order.symbol)
        c.available, c.reserved = c.available - order.reserved_cash, c.reserved + order.reserved_cash
        if order.reserved_quantity:
            h = self.store.holding_items[key]
            q = order.reserved_quantity
            self.store.holding_items[key] = dataclasses.replace(
                h, available=h.available - q, reserved=h.reserved + q
            )
        self.store.order_items[order.id] = dataclasses.replace(order)

    def request_cancel(self, order: Order) -> None:
        o = self.store.order_items[order.id]
        self.store.order_items[order.id] = dataclasses.replace(o, cancel_requested=True)

    def cash(self, user: str) -> tuple[int, int]:
        c = self.store.cash[user]
        return c.available, c.reserved

    def holding(self, user: str, symbol: str) -> Holding:
        return self.store.counterparties(symbol, [], [user]).holdings[user]

    def mark_price(self, user: str, symbol: str) -> int | None:
        return self.store.mark_prices.get((user, symbol))

    def trades(self, symbol: str) -> int:
        return sum(1 for s, _ in self.store.trades if s == symbol)


@pytest.fixture(params=["dynamodb", "memory"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return MemoryBackend()
    return DynamoBackend(request.getfixturevalue("exchange"))


def _symbol(b: Backend) -> str:
    symbol = "".join(chr(65 + x % 26) for x in uuid.uuid4().bytes[:6])
    b.list_stock(symbol, 10_000)
    return symbol


def order(user: str, symbol: str, side: str, qty: int, price: int, **kw: Any) -> Order:
    now = now_ms()
    return limit_order(new_id(), user, symbol, side, qty, price, at=now, pending_since=now, **kw)


def match(store: MatcherStore, *orders: Order) -> None:
    Matcher(store, sleep=lambda s: None).process(
        orders[0].symbol, [Message("new", o.symbol, o.id, o.user_id) for o in orders]
    )


@contextmanager
def held_back(store: Any) -> Iterator[list[BatchCommit]]:
    """The batches the matcher sends, kept back (nothing is written)."""
    held: list[BatchCommit] = []
    store.commit = held.append
    try:
        yield held
    finally:
        del store.commit


def test_orders_read_back_as_placed(backend: Backend) -> None:
    # Given an order with an attribute the matcher does not know
    sym = _symbol(backend)
    u = backend.user(1_000_000, sym)
    o = order(u, sym, "buy", 3, 9_000, client_order_id="c-1", extra={"source": "web"})
    backend.place(o)

    # When it is read, matched (it rests) and read again
    loaded = backend.store.load(sym, [(u, o.id), (u, "no-such-order")])
    assert loaded.orders == {o.id: o}
    assert backend.store.counterparties(sym, [(u, o.id)], []).orders == {o.id: o}
    assert backend.store.resting_orders(sym) == []
    match(backend.store, o)

    # Then it rests with its arrival sequence, out of the pending index, everything else kept
    (rested,) = backend.store.resting_orders(sym)
    assert rested == dataclasses.replace(
        o, status="open", book_seq=1, pending_since=None, updated_at=rested.updated_at
    )
    book = backend.store.load(sym, []).book
    assert (book.version, book.next_seq, book.bids, book.asks) == (2, 2, [[9_000, 3, 1]], [])


def test_a_trade_settles_in_the_store(backend: Backend) -> None:
    # Given a resting ask of 5 @ 100.00 and a first-time buyer bidding 102.00 for 3
    sym = _symbol(backend)
    seller, buyer = backend.user(0, sym, shares=5), backend.user(1_000_000, sym)
    ask, bid = order(seller, sym, "sell", 5, 10_000), order(buyer, sym, "buy", 3, 10_200)
    backend.place(ask)
    match(backend.store, ask)
    backend.place(bid)

    # When the bid is matched
    match(backend.store, bid)

    # Then cash, shares, cost basis, mark price, orders and the trade are stored
    assert backend.cash(buyer) == (1_000_000 - 30_000, 0)
    assert backend.cash(seller) == (30_000, 0)
    assert backend.holding(buyer, sym) == Holding(buyer, sym, 3, 0, 30_000, 0, exists=True)
    assert backend.holding(seller, sym) == Holding(seller, sym, 0, 2, 200, 29_700, exists=True)
    assert backend.mark_price(buyer, sym) == backend.mark_price(seller, sym) == 10_000
    found = backend.store.load(sym, [(buyer, bid.id), (seller, ask.id)]).orders
    assert (found[bid.id].status, found[bid.id].reserved_cash, found[bid.id].book_seq) == ("filled", 0, None)
    assert (found[ask.id].status, found[ask.id].remaining_quantity) == ("partially_filled", 2)
    assert backend.trades(sym) == 1
    stock = backend.store.load(sym, []).stock
    assert (stock.trade_seq, stock.last_price, stock.volume) == (1, 10_000, 3)


def test_a_batch_against_a_moved_book_writes_nothing(backend: Backend) -> None:
    # Given a batch computed and held back, and the book moved on meanwhile
    sym = _symbol(backend)
    seller, buyer = backend.user(0, sym, shares=5), backend.user(1_000_000, sym)
    ask, bid = order(seller, sym, "sell", 5, 10_000), order(buyer, sym, "buy", 5, 10_000)
    backend.place(ask)
    backend.place(bid)
    with held_back(backend.store) as held:
        match(backend.store, ask, bid)
    other = order(buyer, sym, "buy", 1, 5_000)
    backend.place(other)
    match(backend.store, other)

    # When the held batch is written
    with pytest.raises(StaleState):
        backend.store.commit(held[0])

    # Then nothing of it was written
    assert backend.cash(buyer) == (1_000_000 - 55_000, 55_000)
    assert backend.holding(buyer, sym) == Holding(buyer, sym)
    assert backend.holding(seller, sym).reserved == 5
    assert backend.trades(sym) == 0


def test_a_cancel_requested_meanwhile_refuses_the_batch(backend: Backend) -> None:
    # Given a resting ask, a batch filling it held back, and then a cancel request for the ask
    sym = _symbol(backend)
    seller, buyer = backend.user(0, sym, shares=5), backend.user(1_000_000, sym)
    ask, bid = order(seller, sym, "sell", 5, 10_000), order(buyer, sym, "buy", 5, 10_000)
    backend.place(ask)
    match(backend.store, ask)
    backend.place(bid)
    with held_back(backend.store) as held:
        match(backend.store, bid)
    backend.request_cancel(ask)

    # When the batch is written
    with pytest.raises(StaleState):
        backend.store.commit(held[0])

    # Then the ask is untouched and still cancellable; no share moved
    (stored,) = backend.store.load(sym, [(seller, ask.id)]).orders.values()
    assert (stored.status, stored.cancel_requested, stored.remaining_quantity) == ("open", True, 5)
    assert backend.holding(seller, sym).reserved == 5
    assert backend.holding(buyer, sym).exists is False


def test_a_new_holding_is_created_once(backend: Backend) -> None:
    # Given a first-time buyer's batch held back, and a grant creating the holding meanwhile
    sym = _symbol(backend)
    seller, buyer = backend.user(0, sym, shares=5), backend.user(1_000_000, sym)
    ask, bid = order(seller, sym, "sell", 5, 10_000), order(buyer, sym, "buy", 5, 10_000)
    backend.place(ask)
    match(backend.store, ask)
    backend.place(bid)
    with held_back(backend.store) as held:
        match(backend.store, bid)
    (batch,) = held
    assert batch.holdings[buyer].expected_cost_basis is None
    if isinstance(backend.store, DynamoMatcherStore):
        backend.ex.store.grant(buyer, sym, 1, 100, now_ms(), None)  # type: ignore[attr-defined]
    else:
        backend.store.holding_items[(buyer, sym)] = Holding(buyer, sym, 1, 0, 100, 0, True)

    # When the batch is written, Then it is refused: the cost basis it computed is stale
    with pytest.raises(StaleState):
        backend.store.commit(batch)
    assert backend.holding(buyer, sym) == Holding(buyer, sym, 1, 0, 100, 0, exists=True)


def test_candles_are_written_with_the_trades_and_a_stale_one_refuses_the_batch(backend: Backend) -> None:
    # Given a trade of 3 @ 100.00, and a second batch (2 @ 100.00) held back
    sym = _symbol(backend)
    seller, buyer = backend.user(0, sym, shares=5), backend.user(1_000_000, sym)
    ask = order(seller, sym, "sell", 5, 10_000)
    backend.place(ask)
    match(backend.store, ask)
    bid = order(buyer, sym, "buy", 3, 10_000)
    backend.place(bid)
    match(backend.store, bid)
    at = backend.store.load(sym, []).stock.updated_at
    read = backend.store.counterparties(sym, [], [], keys_at(at)).candles
    assert {k: (c.open, c.close, c.volume, c.first_seq, c.last_seq) for k, c in read.items()} == {
        k: (10_000, 10_000, 3, 1, 1) for k in keys_at(at)
    }
    second = order(buyer, sym, "buy", 2, 10_000)
    backend.place(second)
    with held_back(backend.store) as held:
        match(backend.store, second)
    (batch,) = held
    assert len(batch.candles) == 4 and {w.expected_last_seq for w in batch.candles} <= {1, None}  # None: new

    # When it is written as if computed from another state of its candles
    batch.candles = [dataclasses.replace(w, expected_last_seq=7) for w in batch.candles]
    with pytest.raises(StaleState):
        backend.store.commit(batch)

    # Then nothing of it was written
    assert backend.trades(sym) == 1
    assert backend.store.counterparties(sym, [], [], keys_at(at)).candles == read
