"""The matcher use case on the in-memory store: a straight flow, retried on a stale state."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from exchange.adapters.memory_matcher_store import Cash, MemoryMatcherStore
from exchange.domain.batch import BatchCommit
from exchange.domain.errors import StaleState
from exchange.domain.records import Holding, Order, Stock, StoredBook
from exchange.usecases.matching import Matcher, Message
from tests.factories import limit_order

SYM = "ACME"


def _order(oid: str, user: str, side: str, qty: int, price: int, status: str) -> Order:
    book_seq = None if status == "pending" else int(oid.removeprefix("s")) + 1
    return limit_order(oid, user, SYM, side, qty, price, status=status, book_seq=book_seq)


def market(sellers: int) -> tuple[MemoryMatcherStore, Order]:
    """``sellers`` one-share asks resting at 100.00, and a pending buy for all of them by a
    first-time holder (its cash reserved)."""
    store = MemoryMatcherStore()
    store.stocks[SYM] = Stock(SYM, 10_000)
    asks = [_order(f"s{i}", f"u{i}", "sell", 1, 10_000, "open") for i in range(sellers)]
    store.books[SYM] = StoredBook(SYM, 1, sellers + 1, [], [[10_000, sellers, sellers]] if sellers else [])
    for o in asks:
        store.order_items[o.id] = o
        store.cash[o.user_id] = Cash(0)
        store.holding_items[(o.user_id, SYM)] = Holding(o.user_id, SYM, 0, 1, 100, 0, True)
    buy = _order("b", "buyer", "buy", sellers, 10_000, "pending")
    store.order_items[buy.id] = buy
    store.cash["buyer"] = Cash(0, buy.reserved_cash)
    return store, buy


def test_a_first_time_holder_sweeps_120_sellers_in_one_delivery() -> None:
    store, buy = market(120)
    Matcher(store).process(SYM, [Message("new", SYM, buy.id, buy.user_id)])
    assert store.order_items["b"].status == "filled"
    assert (store.cash["buyer"].available, store.cash["buyer"].reserved) == (0, 0)
    assert store.holding_items[("buyer", SYM)] == Holding("buyer", SYM, 120, 0, 1_200_000, 0, True)
    assert all(store.cash[f"u{i}"].available == 10_000 for i in range(120))
    assert len(store.trades) == 120 and store.books[SYM].asks == [] and not store.books[SYM].partial
    assert [len(b.events) > 0 for b in store.written_books] == [True] * len(store.written_books)


class Flaky(MemoryMatcherStore):
    """Refuses the first ``failures`` commits as a concurrent transaction would."""

    failures: int = 0

    def commit(self, batch: BatchCommit) -> None:
        if self.failures:
            self.failures -= 1
            raise StaleState("TransactionConflict")
        super().commit(batch)


def _flaky(failures: int) -> tuple[Flaky, Order]:
    plain, buy = market(3)
    store = Flaky(
        **{k: getattr(plain, k) for k in ("books", "stocks", "order_items", "holding_items", "cash")}
    )
    store.failures = failures
    return store, buy


def test_a_stale_state_is_retried_with_backoff_and_settles_once() -> None:
    store, buy = _flaky(2)
    sleeps: list[float] = []
    Matcher(store, sleep=sleeps.append).process(SYM, [Message("new", SYM, buy.id, buy.user_id)])
    assert store.order_items["b"].status == "filled" and len(store.trades) == 3
    assert len(sleeps) == 2 and 0.025 <= sleeps[0] <= 0.075 and 0.05 <= sleeps[1] <= 0.15


def test_after_the_last_attempt_the_stock_fails_and_nothing_moved() -> None:
    store, buy = _flaky(4)
    sleeps: list[float] = []
    matcher = Matcher(store, sleep=sleeps.append)
    with pytest.raises(StaleState):
        matcher.process(SYM, [Message("new", SYM, buy.id, buy.user_id)])
    assert len(sleeps) == 3 and SYM not in matcher.books
    assert store.order_items["b"].status == "pending" and store.trades == {}


def test_duplicate_messages_in_one_batch_take_the_order_once() -> None:
    store, buy = market(2)
    msg = Message("new", SYM, buy.id, buy.user_id)
    Matcher(store).process(SYM, [msg, msg, Message("unknown", SYM, buy.id, buy.user_id)])
    assert store.order_items["b"].status == "filled" and len(store.trades) == 2


def test_a_maker_whose_own_message_is_redelivered_in_the_batch_settles() -> None:
    # Given a resting ask whose "new" message comes again, in the same batch as a bid taking it
    store, buy = market(2)
    again = Message("new", SYM, "s0", "u0")

    # When the batch is matched
    Matcher(store).process(SYM, [again, Message("new", SYM, buy.id, buy.user_id)])

    # Then the maker (read with the messages, not as a counterparty) was settled with its holding
    assert store.order_items["b"].status == "filled"
    assert store.holding_items[("u0", SYM)] == Holding("u0", SYM, 0, 0, 0, 10_000 - 100, True)
    assert store.cash["u0"].available == 10_000


def test_the_book_sequence_grows_only_with_commits_that_change_the_book() -> None:
    # Given a stock whose book holds one ask, at book sequence 1
    store, _ = market(1)
    store.books[SYM] = dataclasses.replace(store.books[SYM], sequence=1)
    buyer_cash = store.cash["buyer"]
    store.cash["buyer"] = Cash(buyer_cash.available + 20_000, buyer_cash.reserved)
    # When an order is cancelled before the matcher takes it (a commit that leaves the book as it was)
    gone = dataclasses.replace(_order("x", "buyer", "buy", 1, 9_000, "pending"), cancel_requested=True)
    store.order_items[gone.id] = gone
    Matcher(store).process(SYM, [Message("new", SYM, gone.id, gone.user_id)])
    # Then the commit happened (the book item's version moved) but the clients' sequence did not
    assert store.order_items["x"].status == "cancelled"
    assert (store.books[SYM].version, store.books[SYM].sequence) == (2, 1)
    assert not [e for e in _events(store) if e["type"] == "ORDER_BOOK_UPDATED"]
    # When an order rests (the book changes)
    bid = _order("y", "buyer", "buy", 1, 9_000, "pending")
    store.order_items[bid.id] = bid
    Matcher(store).process(SYM, [Message("new", SYM, bid.id, bid.user_id)])
    # Then the sequence is one more, and the book event carries it
    assert (store.books[SYM].version, store.books[SYM].sequence) == (3, 2)
    (update,) = [e for e in _events(store) if e["type"] == "ORDER_BOOK_UPDATED"]
    assert update["data"]["sequence"] == 2 and update["data"]["bids"][0]["price"] == "90.00"


def _events(store: MemoryMatcherStore) -> list[dict[str, Any]]:
    return [e for b in store.written_books for e in b.events]
