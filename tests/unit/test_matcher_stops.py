"""The matcher's stop wiring on the in-memory store: a stop stored waiting although the last price
meets it (a cascade split over two commits left it so) enters first, in trigger order, before the
batch's messages; the snapshot between the orders of one cascade (``advance_levels``)."""

from __future__ import annotations

import dataclasses

import pytest

from exchange.adapters.memory_matcher_store import Cash, MemoryMatcherStore
from exchange.domain.batch import advance_levels, stops_digest
from exchange.domain.engine import Fill, Rested
from exchange.domain.errors import StaleState
from exchange.domain.records import Holding, Order, Stock, StoredBook
from exchange.usecases.matching import Matcher, Message
from tests.factories import limit_order

SYM = "STP"


def _store() -> MemoryMatcherStore:
    store = MemoryMatcherStore()
    store.stocks[SYM] = Stock(
        SYM,
        1_000,
        trade_seq=1,
        last_price=1_010,
        day="2025-12-01",
        open=1_010,
        high=1_010,
        low=1_010,
        volume=1,
        candles_from=1,
    )
    for u in ("seller", "s1", "s2", "late"):
        store.cash[u] = Cash(1_000_000)
        store.holding_items[(u, SYM)] = Holding(u, SYM, 100, 0, 100_000, 0, True)
    return store


def _waiting_stop(oid: str, user: str, stop: int, seq: int) -> Order:
    o = limit_order(oid, user, SYM, "buy", 1, 1_060, status="open", book_seq=seq)
    return dataclasses.replace(o, order_type="stop", limit_price=None, price_bound=1_060, stop_price=stop)


def test_overdue_stops_enter_first_in_trigger_order_then_the_messages() -> None:
    store = _store()
    asks = [
        limit_order(f"a{i}", "seller", SYM, "sell", 1, 1_020 + i, status="open", book_seq=i + 1)
        for i in range(3)
    ]
    asks = [dataclasses.replace(a, reserved_quantity=1) for a in asks]
    store.holding_items[("seller", SYM)] = Holding("seller", SYM, 97, 3, 100_000, 0, True)
    s2 = _waiting_stop("s2", "s2", 1_010, 4)  # arrived first, higher stop: enters second
    s1 = _waiting_stop("s1", "s1", 1_005, 5)
    for o in (*asks, s1, s2):
        store.order_items[o.id] = o
    store.cash["s1"].available, store.cash["s1"].reserved = 1_000_000 - 1_060, 1_060
    store.cash["s2"].available, store.cash["s2"].reserved = 1_000_000 - 1_060, 1_060
    levels = [[1_020, 1, 1], [1_021, 1, 1], [1_022, 1, 1]]
    store.books[SYM] = StoredBook(SYM, 7, 6, [], levels, stops=stops_digest(["s1", "s2"]))
    late = limit_order("late", "late", SYM, "buy", 1, 1_022, pending_since=1)
    store.order_items["late"] = late
    store.cash["late"].available, store.cash["late"].reserved = 1_000_000 - 1_022, 1_022

    Matcher(store).process(SYM, [Message("new", SYM, "late", "late")])

    trades = [store.trades[(SYM, seq)] for seq in (2, 3, 4)]
    assert [(t.buy_order_id, t.price) for t in trades] == [("s1", 1_020), ("s2", 1_021), ("late", 1_022)]
    for oid in ("s1", "s2"):
        o = store.order_items[oid]
        assert (o.status, o.reserved_cash, o.triggered_at is not None) == ("filled", 0, True)
    events = [e for b in store.written_books for e in b.events if e["channel"] in ("user:s1", "user:s2")]
    assert [(e["type"], e["data"]["id"]) for e in events] == [
        ("ORDER_TRIGGERED", "s1"),
        ("ORDER_FILLED", "s1"),
        ("ORDER_TRIGGERED", "s2"),
        ("ORDER_FILLED", "s2"),
    ]
    assert store.cash["s1"].available == 1_000_000 - 1_020  # the improvement back


def test_a_lagging_index_that_misses_a_waiting_stop_is_a_stale_state() -> None:
    store = _store()
    store.books[SYM] = StoredBook(SYM, 3, 2, [], [], stops=stops_digest(["gone"]))  # one stop waits
    bid = limit_order("b", "late", SYM, "buy", 1, 1_000, pending_since=1)
    store.order_items["b"] = bid
    store.cash["late"].available, store.cash["late"].reserved = 1_000_000 - 1_000, 1_000
    with pytest.raises(StaleState, match="waiting stops"):
        Matcher(store, attempts=1).process(SYM, [Message("new", SYM, "b", "late")])
    assert store.books[SYM].version == 3 and store.order_items["b"].status == "pending"


def test_advance_levels_takes_the_fills_and_adds_the_rest() -> None:
    levels = ([[990, 5, 2]], [[1_010, 2, 1], [1_020, 3, 2]])
    events = [Fill("t", "m1", "u", 1_010, 2, 3, 0), Rested("t", 0, 1_015, 3)]
    assert advance_levels(levels, events, taker_is_buy=True) == (
        [[1_015, 3, 1], [990, 5, 2]],
        [[1_020, 3, 2]],
    )
    assert advance_levels(levels, [Rested("x", 1, 1_010, 4)], taker_is_buy=False) == (
        [[990, 5, 2]],
        [[1_010, 6, 2], [1_020, 3, 2]],
    )
