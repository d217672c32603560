"""The settlement's money rules and its cutting of commits, on plain records (no I/O)."""

from __future__ import annotations

import itertools

from exchange.domain.batch import MAX_OPS
from exchange.domain.engine import Cancelled, Fill, Rested
from exchange.domain.records import Holding, Order, Stock, StoredBook
from exchange.domain.settlement import Ledger, settle
from exchange.domain.steps import OrderEvent, Step
from tests.factories import limit_order

SYM, NOW = "ACME", 1_700_000_000_000
_ids = itertools.count(1)


def order(
    oid: str, user: str, side: str, qty: int, price: int, status: str = "open", tif: str = "gtc", **kw: object
) -> Order:
    return limit_order(oid, user, SYM, side, qty, price, status=status, tif=tif, **kw)


def ledger(orders: list[Order], holdings: list[Holding]) -> Ledger:
    return Ledger(
        Stock(SYM, 10_000),
        StoredBook(SYM, 7, 10, [], []),
        {o.id: o for o in orders},
        {h.user_id: h for h in holdings},
        NOW,
        "2026-12-01",
        lambda: f"t{next(_ids)}",
    )


def taker_step(taker: Order, fills: list[tuple[Order, int, int]], tail: object = None) -> Step:
    left = {maker.id: maker.remaining_quantity for maker, _, _ in fills}
    events: list[object] = []
    for maker, price, qty in fills:
        left[maker.id] -= qty  # what the engine's book says the maker keeps
        events.append(Fill(taker.id, maker.id, maker.user_id, price, qty, 0, left[maker.id]))
    if tail is not None:
        events.append(tail)
    return Step(taker.id, events, ([], []), accept=True, seq=10)  # type: ignore[arg-type]


def test_a_buyer_pays_the_makers_price_and_gets_the_improvement_back() -> None:
    # Given a buy of 3 reserved at 102.00 and a resting sell of 5 @ 100.00 (bought at 90.00 each)
    buy = order("b", "buyer", "buy", 3, 10_200, status="pending")
    sell = order("s", "seller", "sell", 5, 10_000)
    led = ledger([buy, sell], [Holding("buyer", SYM), Holding("seller", SYM, 0, 5, 45_000, 0, True)])

    # When they trade 3 @ 100.00
    (commit,) = settle(led, [taker_step(buy, [(sell, 10_000, 3)])])

    # Then the buyer pays 300.00 from the reservation and gets 6.00 back; the seller realises 30.00
    b = commit.batch
    assert (b.cash["buyer"].available, b.cash["buyer"].reserved) == (600, -30_600)
    assert (b.cash["seller"].available, b.cash["seller"].reserved) == (30_000, 0)
    hb, hs = b.holdings["buyer"], b.holdings["seller"]
    assert (hb.available_delta, hb.cost_basis, hb.expected_cost_basis, hb.mark_price) == (
        3,
        30_000,
        None,
        10_000,
    )
    assert (hs.reserved_delta, hs.cost_basis, hs.realized_pnl, hs.expected_cost_basis) == (
        -3,
        18_000,
        3_000,
        45_000,
    )
    assert b.orders["b"].order.status == "filled" and b.orders["b"].order.reserved_cash == 0
    assert b.orders["b"].order.pending_since is None and b.orders["b"].expected_status == "pending"
    assert (b.orders["s"].order.status, b.orders["s"].order.reserved_quantity) == ("partially_filled", 2)
    assert b.stock is not None and (b.stock.last_price, b.stock.trade_seq, b.stock.volume) == (10_000, 1, 3)
    assert [e.type for e in commit.events if isinstance(e, OrderEvent)] == [
        "ORDER_ACCEPTED",
        "ORDER_FILLED",
        "ORDER_FILLED",
    ]


def test_a_cancelled_remainder_releases_exactly_what_is_reserved() -> None:
    # Given an IOC buy of 5 @ 101.00 that fills 2 @ 100.00 and is cancelled for the rest
    buy = order("b", "buyer", "buy", 5, 10_100, status="pending", tif="ioc")
    sell = order("s", "seller", "sell", 2, 10_000)
    led = ledger([buy, sell], [Holding("buyer", SYM), Holding("seller", SYM, 0, 2, 200, 0, True)])
    step = taker_step(buy, [(sell, 10_000, 2)], Cancelled("b", 3, "unfilled_ioc"))

    # When settled
    (commit,) = settle(led, [step])

    # Then the buyer's reservation is gone to the cent: 200.00 paid, the rest available again
    d = commit.batch.cash["buyer"]
    assert (d.available, d.reserved) == (5 * 10_100 - 20_000, -5 * 10_100)
    assert commit.batch.orders["b"].order.status == "cancelled"
    assert commit.batch.orders["b"].order.cancel_reason == "unfilled_ioc"


def test_a_long_sweep_fills_each_commit_to_the_budget_and_keeps_unwritten_holdings_as_read() -> None:
    # Given a buy of 60 by a first-time holder against 60 one-share asks of first-time... sellers
    buy = order("b", "buyer", "buy", 60, 10_000, status="pending", pending_since=123)
    makers = [order(f"s{i}", f"u{i}", "sell", 1, 10_000) for i in range(60)]
    holdings = [Holding("buyer", SYM)] + [Holding(f"u{i}", SYM, 0, 1, 100, 0, True) for i in range(60)]
    led = ledger([buy, *makers], holdings)

    # When settled
    commits = settle(led, [taker_step(buy, [(m, 10_000, 1) for m in makers])])

    # Then 15 fills per commit (5 operations of the taker's side + 6 per maker <= 100), the buyer's
    # holding is created by the first commit only, and the order stays pending until the last one
    assert [len(c.batch.trades) for c in commits] == [15, 15, 15, 15]
    assert all(c.batch.op_count() <= MAX_OPS for c in commits)
    assert [c.batch.holdings["buyer"].expected_cost_basis for c in commits] == [
        None,
        150_000,
        300_000,
        450_000,
    ]
    written = [c.batch.orders["b"].order for c in commits]
    assert [(o.status, o.pending_since) for o in written] == [("pending", 123)] * 3 + [("filled", None)]
    assert [c.batch.book.partial for c in commits] == [True, True, True, False]
    assert [c.batch.book.version for c in commits] == [8, 9, 10, 11]
    assert [c.batch.expected_version for c in commits] == [7, 8, 9, 10]
    accepted = [
        e for c in commits for e in c.events if isinstance(e, OrderEvent) and e.type == "ORDER_ACCEPTED"
    ]
    assert len(accepted) == 1


def test_holdings_read_but_not_written_are_not_taken_for_existing() -> None:
    # Given two messages: a sweep that needs a cut, then a fill of a buyer read but not yet written
    buy = order("b", "buyer", "buy", 16, 10_000, status="pending")
    makers = [order(f"s{i}", f"u{i}", "sell", 1, 10_000) for i in range(16)]
    late = order("late", "newbie", "buy", 1, 10_000, status="pending")
    tail_maker = order("s99", "u99", "sell", 1, 10_000)
    holdings = [Holding("buyer", SYM, 1, 0, 100, 0, True), Holding("newbie", SYM)]
    holdings += [Holding(f"u{i}", SYM, 0, 1, 100, 0, True) for i in [*range(16), 99]]
    led = ledger([buy, late, *makers, tail_maker], holdings)
    steps = [taker_step(buy, [(m, 10_000, 1) for m in makers]), taker_step(late, [(tail_maker, 10_000, 1)])]

    # When settled
    commits = settle(led, steps)

    # Then the newbie's holding, first written in the last commit, is conditioned on not existing
    last = commits[-1].batch
    assert len(commits) == 2 and "newbie" not in commits[0].batch.holdings
    assert last.holdings["newbie"].expected_cost_basis is None


def test_a_resumed_order_is_not_announced_again() -> None:
    # Given an order whose first fills were committed by an earlier delivery (still pending)
    buy = order("b", "buyer", "buy", 4, 10_000, status="pending")
    buy.filled_quantity, buy.remaining_quantity, buy.reserved_cash = 2, 2, 20_000
    sell = order("s", "seller", "sell", 2, 10_000)
    led = ledger(
        [buy, sell], [Holding("buyer", SYM, 2, 0, 20_000, 0, True), Holding("seller", SYM, 0, 2, 2, 0, True)]
    )

    # When it resumes
    (commit,) = settle(led, [taker_step(buy, [(sell, 10_000, 2)])])

    # Then its only event is the remaining fill (it was announced by the first delivery)
    mine = [e for e in commit.events if isinstance(e, OrderEvent) and e.order.id == "b"]
    assert [(e.type, e.order.filled_quantity) for e in mine] == [("ORDER_FILLED", 4)]


def test_a_resting_order_gets_its_arrival_sequence_and_leaves_the_pending_index() -> None:
    buy = order("b", "buyer", "buy", 4, 9_000, status="pending", pending_since=5)
    led = ledger([buy], [Holding("buyer", SYM)])
    (commit,) = settle(
        led, [Step("b", [Rested("b", 0, 9_000, 4)], ([[9_000, 4, 1]], []), accept=True, seq=10)]
    )
    written = commit.batch.orders["b"].order
    assert (written.status, written.book_seq, written.pending_since) == ("open", 10, None)
    assert commit.batch.book.next_seq == 11 and commit.batch.book.bids == [[9_000, 4, 1]]
    assert commit.batch.holdings == {} and commit.batch.cash == {}


def test_a_partly_filled_maker_keeps_its_waiting_cancel_in_the_pending_index() -> None:
    # Given a resting ask whose cancel was requested (its message may have been lost)
    buy = order("b", "buyer", "buy", 1, 10_000, status="pending")
    sell = order("s", "seller", "sell", 3, 10_000, cancel_requested=True, pending_since=42)
    led = ledger([buy, sell], [Holding("buyer", SYM), Holding("seller", SYM, 0, 3, 3, 0, True)])
    (commit,) = settle(led, [taker_step(buy, [(sell, 10_000, 1)])])
    assert commit.batch.orders["s"].order.pending_since == 42  # the sweep re-sends its cancel
    assert commit.batch.orders["s"].expected_cancel_requested is True
