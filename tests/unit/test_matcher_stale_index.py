"""The matcher on a lagging resting-orders index (a DynamoDB GSI is eventually consistent): the
engine's book may then hold makers that the table says are filled, or hold more than they have
left. Settling a fill against such a maker must never happen: it would overfill the maker and
drive its owner's reserved shares (or cash) below zero."""

from __future__ import annotations

import dataclasses

import pytest

from exchange.adapters.memory_matcher_store import Cash, MemoryMatcherStore
from exchange.domain.batch import BatchCommit
from exchange.domain.engine import Cancelled
from exchange.domain.errors import StaleState
from exchange.domain.records import NON_FINAL, Holding, Order
from exchange.domain.settlement import settle
from exchange.domain.steps import Step
from exchange.usecases.matching import Matcher, Message
from tests.unit.test_matcher_flow import SYM, market
from tests.unit.test_settlement import ledger, order, taker_step


class Crash(RuntimeError):
    """The container dies (timeout, OOM) between two commits of one batch."""


class Faulty(MemoryMatcherStore):
    """A memory store whose index answers from an old snapshot ``lagging`` times, and that can
    crash before its ``crash_at``-th commit (1-based)."""

    stale: list[Order] | None = None
    lagging: int = 0
    crash_at: int = 0
    commits: int = 0

    def resting_orders(self, symbol: str) -> list[Order]:
        if self.lagging and self.stale is not None:
            self.lagging -= 1
            return [dataclasses.replace(o) for o in self.stale]
        return super().resting_orders(symbol)

    def commit(self, batch: BatchCommit) -> None:
        self.commits += 1
        if self.commits == self.crash_at:
            raise Crash("killed between two commits")
        super().commit(batch)


def _faulty(sellers: int) -> tuple[Faulty, Order]:
    plain, buy = market(sellers)
    names = ("books", "stocks", "order_items", "holding_items", "cash")
    store = Faulty(**{k: getattr(plain, k) for k in names})
    return store, buy


def _assert_sound(store: MemoryMatcherStore, sellers: int) -> None:
    for o in store.order_items.values():
        assert o.filled_quantity + o.remaining_quantity == o.quantity, o
        assert o.remaining_quantity >= 0 and o.filled_quantity <= o.quantity, o
        if o.status not in NON_FINAL:
            assert o.reserved_cash == 0 and o.reserved_quantity == 0, o
    for h in store.holding_items.values():
        assert h.available >= 0 and h.reserved >= 0, h
    for c in store.cash.values():
        assert c.available >= 0 and c.reserved >= 0, c
    assert store.order_items["b"].status == "filled"
    assert store.holding_items[("buyer", SYM)].available == sellers
    assert all(store.order_items[f"s{i}"].status == "filled" for i in range(sellers))
    assert all(store.cash[f"u{i}"].available == 10_000 for i in range(sellers))
    assert sorted(seq for _, seq in store.trades) == list(range(1, sellers + 1))


def test_a_sweep_resumed_after_a_crash_on_a_lagging_index_fills_each_maker_once() -> None:
    # Given a buy sweeping 120 one-share asks (several commits); the container dies before the
    # second commit, after the first committed some of the fills
    store, buy = _faulty(120)
    store.stale = store.resting_orders(SYM)  # the index as it was before any fill
    store.crash_at = 2
    msg = Message("new", SYM, buy.id, buy.user_id)
    with pytest.raises(Crash):
        Matcher(store).process(SYM, [msg])
    done = [o.id for o in store.order_items.values() if o.id != "b" and o.status == "filled"]
    assert 0 < len(done) < 120 and store.books[SYM].partial

    # When the message is redelivered to a fresh container whose first read of the index lags
    # (it still lists the makers the first commit filled)
    store.lagging = 1
    Matcher(store, sleep=lambda _: None).process(SYM, [msg])

    # Then every maker was filled once: no overfill, no negative reservation, 120 trades
    _assert_sound(store, 120)


def test_the_ledger_refuses_a_fill_or_cancel_of_an_order_the_table_shows_final() -> None:
    # Given an ask the table shows filled, and a book (from a lagging index) still holding it
    filled = dataclasses.replace(
        order("s", "seller", "sell", 1, 10_000), status="filled", filled_quantity=1, remaining_quantity=0
    )
    filled.reserved_quantity = 0
    buy = order("b", "buyer", "buy", 1, 10_000, status="pending")
    holdings = [Holding("buyer", SYM), Holding("seller", SYM, 0, 0, 0, 9_900, True)]

    # When the engine fills it again, or cancels it: a stale state (reload), nothing settled
    with pytest.raises(StaleState):
        settle(
            ledger([buy, filled], holdings),
            [taker_step(buy, [(dataclasses.replace(filled, remaining_quantity=1), 10_000, 1)])],
        )
    with pytest.raises(StaleState):
        settle(ledger([filled], holdings), [Step("s", [Cancelled("s", 1, "user")], ([], []))])


def test_the_ledger_refuses_a_maker_with_less_left_than_the_book_says() -> None:
    # Given an ask of 10 with 6 left in the table (4 filled by a commit the index has not seen)
    part = dataclasses.replace(
        order("s", "seller", "sell", 10, 10_000),
        status="partially_filled",
        filled_quantity=4,
        remaining_quantity=6,
        reserved_quantity=6,
    )
    buy = order("b", "buyer", "buy", 5, 10_000, status="pending")
    holdings = [Holding("buyer", SYM), Holding("seller", SYM, 0, 6, 600, 0, True)]

    # When the engine, holding all 10, fills 5 of them (leaving 5, where the table would leave 1)
    stale_view = dataclasses.replace(part, remaining_quantity=10)
    with pytest.raises(StaleState):
        settle(ledger([buy, part], holdings), [taker_step(buy, [(stale_view, 10_000, 5)])])


def test_a_crossed_view_of_a_lagging_index_is_a_stale_state_retried_not_a_failed_stock() -> None:
    # Given one resting ask at 100.00; the index, item by item behind, also lists a bid at 101.00
    # (as if it still showed a filled ask's buyer of a later commit): a crossed view
    store, buy = _faulty(1)
    ghost = dataclasses.replace(
        buy, id="g", status="open", book_seq=9, limit_price=10_100, reservation_price=10_100
    )
    store.stale = [*store.resting_orders(SYM), ghost]
    store.lagging = 1

    # When a fresh container takes the buy
    Matcher(store, sleep=lambda _: None).process(SYM, [Message("new", SYM, buy.id, buy.user_id)])

    # Then it reloaded (the index caught up) and settled in this delivery, instead of failing the
    # stock's messages back to SQS for a visibility timeout
    _assert_sound(store, 1)


def test_the_first_part_of_a_split_sweep_stores_the_book_as_of_the_messages_before_it() -> None:
    # Given 120 one-share asks; a batch whose first message rests a bid at 90.00 and whose second
    # sweeps the asks (its fills need several commits); the container dies after the first commit
    store, buy = _faulty(120)
    bid = dataclasses.replace(
        buy,
        id="a",
        user_id="early",
        quantity=1,
        remaining_quantity=1,
        limit_price=9_000,
        reservation_price=9_000,
        reserved_cash=9_000,
    )
    store.order_items["a"] = bid
    store.cash["early"] = Cash(0, 9_000)
    store.crash_at = 2
    with pytest.raises(Crash):
        Matcher(store).process(SYM, [Message("new", SYM, "a", "early"), Message("new", SYM, "b", "buyer")])

    # Then the stored book (what REST and the stock channel show meanwhile) holds the resting bid
    assert store.order_items["a"].status == "open" and store.books[SYM].partial
    assert store.books[SYM].bids == [[9_000, 1, 1]]
    # and its ORDER_BOOK_UPDATED says so
    (first,) = store.written_books
    assert [e["data"]["bids"] for e in first.events if e["type"] == "ORDER_BOOK_UPDATED"] == [
        [{"price": "90.00", "quantity": 1, "orders": 1}]
    ]


def test_a_resumed_sweep_on_an_index_missing_a_just_rested_order_does_not_lose_it() -> None:
    # Given a batch that rests a bid at 90.00 and then sweeps 120 asks (several commits); the
    # container dies after the first commit
    store, buy = _faulty(120)
    bid = dataclasses.replace(
        buy,
        id="a",
        user_id="early",
        quantity=1,
        remaining_quantity=1,
        limit_price=9_000,
        reservation_price=9_000,
        reserved_cash=9_000,
    )
    store.order_items["a"] = bid
    store.cash["early"] = Cash(0, 9_000)
    store.crash_at = 2
    batch = [Message("new", SYM, "a", "early"), Message("new", SYM, "b", "buyer")]
    with pytest.raises(Crash):
        Matcher(store).process(SYM, batch)

    # When the redelivery's index read lags on the bid alone (it does not list it yet)
    store.stale = [o for o in store.resting_orders(SYM) if o.id != "a"]
    store.lagging = 1
    Matcher(store, sleep=lambda _: None).process(SYM, batch)

    # Then the stored book still holds the bid, and a fresh container can cancel it
    assert store.books[SYM].bids == [[9_000, 1, 1]]
    store.order_items["a"] = dataclasses.replace(store.order_items["a"], cancel_requested=True)
    Matcher(store, sleep=lambda _: None).process(SYM, [Message("cancel", SYM, "a", "early")])
    assert store.order_items["a"].status == "cancelled"
    assert (store.cash["early"].available, store.cash["early"].reserved) == (9_000, 0)


def test_a_split_sweep_through_more_levels_than_the_snapshot_shows_resumes() -> None:
    # Given 110 one-share asks at 110 prices (the snapshot shows the best 100) and a buy of all of
    # them; the container dies after the first commit
    store, buy = _faulty(110)
    for i in range(110):
        o = store.order_items[f"s{i}"]
        store.order_items[o.id] = dataclasses.replace(o, limit_price=10_000 + i)
    store.books[SYM] = dataclasses.replace(store.books[SYM], asks=[[10_000 + i, 1, 1] for i in range(100)])
    store.order_items["b"] = dataclasses.replace(
        buy, limit_price=10_200, reservation_price=10_200, reserved_cash=10_200 * 110
    )
    store.cash["buyer"] = Cash(0, 10_200 * 110)
    store.crash_at = 2
    msg = Message("new", SYM, "b", "buyer")
    with pytest.raises(Crash):
        Matcher(store).process(SYM, [msg])
    # (the stored snapshot: the 100 shown, minus those taken; the index now shows deeper ones too)
    assert store.books[SYM].partial and len(store.books[SYM].asks) < 100

    # When it is redelivered to a fresh container
    Matcher(store, sleep=lambda _: None).process(SYM, [msg])

    # Then the sweep completes
    assert store.order_items["b"].status == "filled" and len(store.trades) == 110
    assert store.books[SYM].asks == [] and not store.books[SYM].partial


def test_a_message_naming_another_stocks_order_moves_nothing() -> None:
    # Given a pending buy of another stock, named by a message in this stock's group (a producer bug)
    store, buy = _faulty(1)
    store.order_items["b"] = dataclasses.replace(buy, symbol="OTHER")

    # When the matcher takes the message
    Matcher(store).process(SYM, [Message("new", SYM, "b", "buyer")])

    # Then this stock's book, trades and holdings are untouched and the order still waits
    assert store.trades == {} and store.order_items["s0"].status == "open"
    assert store.order_items["b"].status == "pending" and ("buyer", SYM) not in store.holding_items
