"""Property-based tests: random flows through the engine and the reference model must agree
event for event and book for book, and the engine's invariants must hold after every step."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.domain.engine import BUY, SELL, Cancelled, Fill, OrderBook, Rested

from .reference_model import ReferenceBook

# Bounded so that the whole engine suite stays well under a minute.
ENGINE_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Few users, few prices and small quantities, so that self-trades, exact FOK fills, collars and
# emptied levels come up often.
users = st.sampled_from([None, "u1", "u2", "u3"])
sides = st.sampled_from([BUY, SELL])

limit_orders = st.tuples(
    st.just("limit"), users, sides, st.integers(1, 8), st.integers(97, 103),
    st.sampled_from(["gtc", "gtc", "day", "ioc", "fok", "fok"]),
)  # fmt: skip
market_orders = st.tuples(st.just("market"), users, sides, st.integers(1, 20), st.integers(95, 105))
cancels = st.tuples(st.just("cancel"), st.integers(0, 200), st.sampled_from(["user", "expired"]))
ops = st.lists(st.one_of(limit_orders, limit_orders, limit_orders, market_orders, cancels), max_size=80)


class Ledger:
    """What the events said happened to each order, for the conservation invariants."""

    def __init__(self) -> None:
        self.qty: dict[int, int] = {}
        self.filled: dict[int, int] = defaultdict(int)
        self.cancelled: dict[int, int] = {}
        self.traded = 0

    def record(self, events: list[Any]) -> None:
        for ev in events:
            if isinstance(ev, Fill):
                self.filled[ev.taker_id] += ev.qty
                self.filled[ev.maker_id] += ev.qty
                self.traded += ev.qty
            elif isinstance(ev, Cancelled):
                self.cancelled[ev.order_id] = ev.remaining_qty


def apply(book: Any, op: tuple[Any, ...], next_id: int) -> tuple[Any, int]:
    """Run one op on a book (the engine or the reference); returns (events, next id)."""
    if op[0] == "limit":
        _, user, side, qty, price, tif = op
        return book.submit(next_id, user, side, qty, price, tif), next_id + 1
    if op[0] == "market":
        _, user, side, qty, bound = op
        return book.submit(next_id, user, side, qty, bound, "ioc", is_market=True), next_id + 1
    _, target, reason = op
    return book.cancel(target % (next_id + 3), reason), next_id  # may be unknown or finished


def check_invariants(book: OrderBook, ledger: Ledger) -> None:
    resting = list(book.resting_orders())
    # no crossed book at rest
    bid, ask = book.best_bid(), book.best_ask()
    if bid is not None and ask is not None:
        assert bid < ask
    # priority order per side, and the aggregates of depth() agree with the orders
    levels: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for oid, _user, side, price, qty in resting:
        assert qty > 0 and oid in book
        levels[(side, price)][0] += qty
        levels[(side, price)][1] += 1
    bids, asks = book.depth(10_000)
    assert bids == sorted(((p, q, c) for (s, p), (q, c) in levels.items() if s == BUY), reverse=True)
    assert asks == sorted((p, q, c) for (s, p), (q, c) in levels.items() if s == SELL)
    bid_prices = [o[3] for o in resting if o[2] == BUY]
    ask_prices = [o[3] for o in resting if o[2] == SELL]
    assert bid_prices == sorted(bid_prices, reverse=True) and ask_prices == sorted(ask_prices)
    assert bid == (bids[0][0] if bids else None) and ask == (asks[0][0] if asks else None)
    assert len(book) == len(resting)
    # every order: filled + remaining (resting or cancelled) = quantity
    resting_qty = {o[0]: o[4] for o in resting}
    for oid, qty in ledger.qty.items():
        remaining = resting_qty.get(oid, 0) + ledger.cancelled.get(oid, 0)
        assert ledger.filled[oid] + remaining == qty, oid
    # quantities conserved: what came in = traded on both sides + cancelled + resting
    cancelled = sum(ledger.cancelled.values())
    assert sum(ledger.qty.values()) == 2 * ledger.traded + cancelled + sum(resting_qty.values())


@ENGINE_SETTINGS
@given(ops)
def test_engine_agrees_with_the_reference_model(flow: list[tuple[Any, ...]]) -> None:
    # Given an empty engine book and an empty reference book
    book, ref = OrderBook("ACME"), ReferenceBook()
    next_id = ref_next = 0
    for op in flow:
        # When the same op goes to both
        events, next_id = apply(book, op, next_id)
        expected, ref_next = apply(ref, op, ref_next)
        # Then the same events, the same resting orders, the same depth
        assert events == expected, op
        assert list(book.resting_orders()) == ref.resting_orders()
        assert book.depth(3) == ref.depth(3)


@ENGINE_SETTINGS
@given(ops)
def test_invariants_hold_after_every_step(flow: list[tuple[Any, ...]]) -> None:
    # Given an empty book and a ledger of what its events said
    book, ledger = OrderBook("ACME"), Ledger()
    next_id = 0
    for op in flow:
        # When an op is applied
        if op[0] != "cancel":
            ledger.qty[next_id] = op[3]
        events, next_id = apply(book, op, next_id)
        if events is None:
            continue
        ledger.record(events if isinstance(events, list) else [events])
        # Then the events are well formed ...
        if isinstance(events, list):
            fills = [e for e in events if isinstance(e, Fill)]
            taker_left = [f.taker_remaining for f in fills]
            assert taker_left == sorted(taker_left, reverse=True)
            assert all(f.qty > 0 for f in fills)
            tail = events[-1]
            assert sum(isinstance(e, Rested | Cancelled) for e in events) <= 1
            if isinstance(tail, Rested):
                assert op[0] == "limit" and op[5] in ("gtc", "day")
        # ... and the book is consistent
        check_invariants(book, ledger)


@ENGINE_SETTINGS
@given(ops, ops)
def test_rebuilt_book_behaves_like_the_original(
    first: list[tuple[Any, ...]], then: list[tuple[Any, ...]]
) -> None:
    # Given a book after a random flow, and a book rebuilt from its resting orders
    book = OrderBook("ACME")
    next_id = 0
    for op in first:
        _, next_id = apply(book, op, next_id)
    copy = OrderBook.rebuild("ACME", book.resting_orders(), version=len(first))
    assert copy == book
    # When both receive the same further flow
    copy_next = next_id
    for op in then:
        events, next_id = apply(book, op, next_id)
        copy_events, copy_next = apply(copy, op, copy_next)
        # Then they do exactly the same
        assert copy_events == events
    assert copy == book
