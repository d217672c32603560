"""Property-based tests of the market (book + stop orders + halts): random flows must give the same
events, book and stops as ``ReferenceMarket``; invariants hold after every step; a rebuilt market
behaves like the original; replaying the flow's log reproduces the reference's trades and book."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill
from exchange.domain.market import Market, Rejected
from exchange.domain.replay import IDENTICAL, LogEntry, LogOrder, ReplayTrade, compare, replay
from exchange.domain.stops import Triggered, condition_met

from .reference_model import ReferenceMarket
from .test_properties import cancels, limit_orders, market_orders, sides, users

# 100 examples of 20-80 ops each (the book's own properties: 200 of ~5): about 5 s on a quiet machine
MARKET_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# stop prices where the flow trades (97..103), so that triggers, cascades and collars come up
stop_orders = st.tuples(
    st.just("stop"), users, sides, st.integers(1, 8), st.integers(97, 103), st.integers(95, 105),
    st.sampled_from(["gtc", "day"]),
)  # fmt: skip
stop_limits = st.tuples(
    st.just("stop_limit"), users, sides, st.integers(1, 8), st.integers(97, 103), st.integers(97, 103),
    st.sampled_from(["gtc", "day"]),
)  # fmt: skip
halts = st.tuples(st.sampled_from(["halt", "resume", "resume"]))


def op_from_seed(seed: int) -> tuple[Any, ...]:
    """A uniformly drawn op: hypothesis' own draws favour small values (few crossings, so few trades
    and triggers); ops drawn from a seed cross the book often and still shrink (by dropping ops)."""
    r = random.Random(seed)
    kind = r.choices(
        ["limit", "market", "cancel", "stop", "stop_limit", "halt", "resume"], [40, 8, 12, 14, 14, 3, 6]
    )[0]
    if kind in ("halt", "resume"):
        return (kind,)
    if kind == "cancel":
        return ("cancel", r.randrange(200), r.choice(["user", "expired"]))
    user, side, qty = r.choice([None, "u1", "u2", "u3"]), r.choice([BUY, SELL]), r.randint(1, 8)
    if kind == "limit":
        return ("limit", user, side, qty, r.randint(97, 103), r.choice(["gtc", "gtc", "day", "ioc", "fok"]))
    if kind == "market":
        return ("market", user, side, r.randint(1, 20), r.randint(95, 105))
    price = r.randint(95, 105) if kind == "stop" else r.randint(97, 103)
    return (kind, user, side, qty, r.randint(97, 103), price, r.choice(["gtc", "day"]))


uniform_ops = st.integers(0, 2**32).map(op_from_seed)
# at least 20 ops: a book to trade against and stops waiting take a few ops to build
market_ops = st.lists(
    st.one_of(
        *[uniform_ops] * 6, limit_orders, market_orders, cancels, stop_orders, stop_limits, halts
    ),
    min_size=20, max_size=80,
)  # fmt: skip


def apply(market: Any, op: tuple[Any, ...], next_id: int) -> tuple[list[Any], int]:
    """One op on a Market or a ReferenceMarket: (its events as a list, the next order id)."""
    kind = op[0]
    if kind == "limit":
        _, user, side, qty, price, tif = op
        return market.submit(next_id, user, side, qty, price, tif), next_id + 1
    if kind == "market":
        _, user, side, qty, bound = op
        return market.submit(next_id, user, side, qty, bound, "ioc", is_market=True), next_id + 1
    if kind in ("stop", "stop_limit"):
        _, user, side, qty, stop_price, price, tif = op
        events = market.submit_stop(next_id, user, side, qty, stop_price, price, tif, kind == "stop")
        return events, next_id + 1
    if kind in ("halt", "resume"):
        return (market.halt() if kind == "halt" else market.resume()), next_id
    _, target, reason = op
    done = market.cancel(target % (next_id + 3), reason)
    return ([] if done is None else [done]), next_id


def user_of(user: Any, order_id: Any) -> str:
    """A stored order always has a user: the flows' ``None`` (never self-trades) becomes a user of
    its own."""
    return f"solo-{order_id}" if user is None else str(user)


def log_entry(seq: int, op: tuple[Any, ...], next_id: int) -> LogEntry:
    """The op as the contract's log entry (order and user ids as strings, as stored)."""
    kind = op[0]
    if kind in ("halt", "resume"):
        return LogEntry(seq, kind)
    if kind == "cancel":
        _, target, reason = op
        target_id = str(target % (next_id + 3))
        return LogEntry(seq, "expire" if reason == "expired" else "cancel", order_id=target_id)
    user, side, qty = user_of(op[1], next_id), "buy" if op[2] == BUY else "sell", op[3]
    oid = str(next_id)
    if kind == "limit":
        order = LogOrder(oid, user, side, "limit", op[5], qty, limit_price=op[4])
    elif kind == "market":
        order = LogOrder(oid, user, side, "market", "ioc", qty, price_bound=op[4])
    elif kind == "stop":
        order = LogOrder(oid, user, side, "stop", op[6], qty, stop_price=op[4], price_bound=op[5])
    else:
        order = LogOrder(oid, user, side, "stop_limit", op[6], qty, limit_price=op[5], stop_price=op[4])
    return LogEntry(seq, "new", order=order)


@MARKET_SETTINGS
@given(market_ops)
def test_market_agrees_with_the_reference_model(flow: list[tuple[Any, ...]]) -> None:
    # Given an empty market and an empty reference market
    market, ref = Market("ACME"), ReferenceMarket()
    next_id = ref_next = 0
    for op in flow:
        # When the same op goes to both
        events, next_id = apply(market, op, next_id)
        expected, ref_next = apply(ref, op, ref_next)
        # Then the same events, book, stops, last price and status
        assert events == expected, op
        assert list(market.resting_orders()) == ref.book.resting_orders()
        assert [tuple(s) for s in market.stop_orders()] == ref.stop_orders()
        assert market.book.depth(3) == ref.book.depth(3)
        assert (market.last_price, market.halted) == (ref.last, ref.halted)


@MARKET_SETTINGS
@given(market_ops)
def test_market_invariants_hold_after_every_step(flow: list[tuple[Any, ...]]) -> None:
    # Given an empty market and what its events said about each order
    market = Market("ACME")
    qty: dict[int, int] = {}
    filled: dict[int, int] = {}
    closed: dict[int, int] = {}  # remaining quantity at cancel
    seen: dict[int, list[str]] = {}  # the kinds of each order's events, in order
    next_id = 0
    for op in flow:
        # When an op is applied
        if op[0] not in ("cancel", "halt", "resume"):
            qty[next_id] = op[3]
        events, next_id = apply(market, op, next_id)
        taker = None
        for ev in events:
            if isinstance(ev, Accepted | Triggered):
                taker = ev.order_id
                seen.setdefault(ev.order_id, []).append(type(ev).__name__)
            elif isinstance(ev, Fill):
                assert ev.taker_id == taker  # a fill belongs to the order last accepted/triggered
                filled[ev.taker_id] = filled.get(ev.taker_id, 0) + ev.qty
                filled[ev.maker_id] = filled.get(ev.maker_id, 0) + ev.qty
                seen[ev.taker_id].append("Fill")
            elif isinstance(ev, Cancelled):
                closed[ev.order_id] = ev.remaining_qty
            elif isinstance(ev, Rejected):
                assert market.halted and ev.reason == "halted"
                del qty[ev.order_id]  # refused whole: it never existed for the market
        # Then no waiting stop has a condition that the last trade price meets ...
        last = market.last_price
        for stop in market.stop_orders():
            assert last is None or not condition_met(stop.side, stop.stop_price, last)
            assert stop.order_id not in market.book
        # ... the book is not crossed ...
        bid, ask = market.book.best_bid(), market.book.best_ask()
        assert bid is None or ask is None or bid < ask
        # ... each order triggered at most once, after its Accepted and before its first fill ...
        for kinds in seen.values():
            assert kinds[0] == "Accepted" and kinds.count("Triggered") <= 1
            if "Triggered" in kinds:
                assert "Fill" not in kinds[: kinds.index("Triggered")]
        # ... and every order's quantity is filled, resting, waiting or cancelled
        resting = {o[0]: o[4] for o in market.resting_orders()}
        waiting = {s.order_id: s.qty for s in market.stop_orders()}
        for oid, q in qty.items():
            left = resting.get(oid, 0) + waiting.get(oid, 0) + closed.get(oid, 0)
            assert filled.get(oid, 0) + left == q, oid


@MARKET_SETTINGS
@given(market_ops, market_ops)
def test_rebuilt_market_behaves_like_the_original(
    first: list[tuple[Any, ...]], then: list[tuple[Any, ...]]
) -> None:
    # Given a market after a random flow, and one rebuilt from its resting orders, waiting stops,
    # last price and status
    market = Market("ACME")
    next_id = 0
    for op in first:
        _, next_id = apply(market, op, next_id)
    copy = Market.rebuild(
        "ACME", market.resting_orders(), market.stop_orders(), market.last_price, market.halted, version=7
    )
    assert copy == market and copy.version == 7
    # When both receive the same further flow
    copy_next = next_id
    for op in then:
        events, next_id = apply(market, op, next_id)
        copy_events, copy_next = apply(copy, op, copy_next)
        # Then they do exactly the same
        assert copy_events == events
    assert copy == market


@MARKET_SETTINGS
@given(market_ops)
def test_replaying_the_log_reproduces_the_reference_trades_and_book(flow: list[tuple[Any, ...]]) -> None:
    # Given a random flow run through the reference market, written down as the contract's log
    ref = ReferenceMarket()
    entries: list[LogEntry] = []
    stored: list[ReplayTrade] = []
    buys: set[str] = set()
    next_id = 0
    for seq, op in enumerate(flow, start=1):
        entries.append(log_entry(seq, op, next_id))
        if op[0] not in ("cancel", "halt", "resume") and op[2] == BUY:
            buys.add(str(next_id))
        events, next_id = apply(ref, op, next_id)
        for ev in events:
            if isinstance(ev, Fill):
                taker, maker = str(ev.taker_id), str(ev.maker_id)
                buy, sell, aggressor = (taker, maker, "buy") if taker in buys else (maker, taker, "sell")
                stored.append(ReplayTrade(len(stored) + 1, buy, sell, ev.price, ev.qty, aggressor))
    resting = [(str(o), user_of(u, o), s, p, q) for o, u, s, p, q in ref.book.resting_orders()]
    stops = [(str(s[0]), user_of(s[1], s[0]), *s[2:]) for s in ref.stop_orders()]
    # When the log is replayed through the engine alone
    replayed = replay(entries, "ACME")
    # Then the trades and the book (and the waiting stops) are the reference's
    assert compare(replayed, stored, resting, stops) == IDENTICAL
    assert (replayed[1].halted, replayed[1].last_price) == (ref.halted, ref.last)
