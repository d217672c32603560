"""Regression tests for the matcher defects of issue 7 (each failed on main before its fix):
sweeps across many first-time counterparties, commits that come too early or empty, no retry on a
stale state, a second ORDER_ACCEPTED for a resumed order, stale pending-index attributes, and the
holding's mark price."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from exchange.ids import new_id, now_ms
from exchange.usecases.matching import Matcher
from tests.integration.conftest import Exchange
from tests.integration.test_matching_settlement import _symbol, cash, match, place, shares

START = 10_000_000


def _fast_user(ex: Exchange, cash_cents: int = START) -> str:
    """An account without the password hashing of registration (many are needed here)."""
    uid = new_id()
    ex.store.create_user(
        {"id": uid, "email": f"f{uid}@example.com", "role": "trader", "created_at": now_ms()}, cash_cents
    )
    return uid


@contextmanager
def recorded_commits(ex: Exchange) -> Iterator[list[Any]]:
    """Every batch commit the matcher sends, in order (and still written)."""
    seen: list[Any] = []
    real = ex.matcher_store.commit

    def record(c: Any) -> None:
        seen.append(c)
        real(c)

    ex.matcher_store.commit = record  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del ex.matcher_store.commit


def _events(commit: Any) -> list[dict[str, Any]]:
    return list(commit.book.events)


def _resting(ex: Exchange, sym: str, side: str, users: list[str], price_of: Any) -> list[dict[str, Any]]:
    orders = []
    for i, u in enumerate(users):
        if side == "sell":
            ex.admin.grant(u, sym, 1)
        orders.append(place(ex, u, sym, side, 1, price_of(i)))
    for start in range(0, len(orders), 10):
        match(ex, *orders[start : start + 10])
    return orders


def test_a_sell_sweeping_30_first_time_buyers_settles_in_one_delivery(exchange: Exchange) -> None:
    # Given 30 resting one-share bids from 30 buyers who never held the stock
    ex = exchange
    sym, seller = _symbol(ex), _fast_user(ex)
    buyers = [_fast_user(ex) for _ in range(30)]
    _resting(ex, sym, "buy", buyers, lambda i: 10_000 - i)
    ex.admin.grant(seller, sym, 30)
    sell = place(ex, seller, sym, "sell", 30, 9_000)

    # When one delivery of the sell reaches the matcher
    match(ex, sell)

    # Then it filled completely, and every buyer holds one share at its own price
    s = ex.store.order(seller, sell["id"])
    assert (s["status"], s["filled_quantity"], s["reserved_quantity"]) == ("filled", 30, 0)
    assert all(shares(ex, b, sym) == (1, 0) for b in buyers)
    assert [ex.store.holding(b, sym)["cost_basis"] for b in buyers] == [10_000 - i for i in range(30)]
    assert cash(ex, seller) == (START + sum(10_000 - i for i in range(30)), 0)


def test_a_first_time_holder_sweeping_120_sellers_progresses(exchange: Exchange) -> None:
    # Given 120 resting one-share asks from 120 sellers, and a buyer who never held the stock
    ex = exchange
    sym, buyer = _symbol(ex), _fast_user(ex)
    sellers = [_fast_user(ex) for _ in range(120)]
    _resting(ex, sym, "sell", sellers, lambda i: 10_000)
    buy = place(ex, buyer, sym, "buy", 120, 10_000)

    # When one delivery of the buy reaches the matcher
    with recorded_commits(ex) as commits:
        match(ex, buy)

    # Then every commit carried fills, and the buy filled completely
    assert all(c.trades for c in commits)
    b = ex.store.order(buyer, buy["id"])
    assert (b["status"], b["filled_quantity"], b["reserved_cash"]) == ("filled", 120, 0)
    assert shares(ex, buyer, sym) == (120, 0)
    assert cash(ex, buyer) == (START - 1_200_000, 0)
    assert all(cash(ex, s) == (START + 10_000, 0) and shares(ex, s, sym) == (0, 0) for s in sellers)


def test_a_60_maker_sweep_fills_each_commit_to_the_budget(exchange: Exchange) -> None:
    # Given 60 one-share asks from 60 sellers
    ex = exchange
    sym, buyer = _symbol(ex), _fast_user(ex)
    ex.admin.grant(buyer, sym, 1)  # the buyer's holding exists: no first-time effects
    sellers = [_fast_user(ex) for _ in range(60)]
    _resting(ex, sym, "sell", sellers, lambda i: 10_000)
    buy = place(ex, buyer, sym, "buy", 60, 10_000)

    # When one buy takes them all
    with recorded_commits(ex) as commits:
        match(ex, buy)

    # Then each commit holds as many fills as 100 operations allow (6 per maker): 4 commits, not 10
    assert [len(c.trades) for c in commits] == [15, 15, 15, 15]
    assert all(c.op_count() <= 100 for c in commits)
    assert ex.store.order(buyer, buy["id"])["status"] == "filled"


def _conflict() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
            "CancellationReasons": [{"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )


@pytest.mark.parametrize(
    "error",
    [
        _conflict(),
        ClientError(
            {"Error": {"Code": "TransactionConflictException", "Message": "x"}}, "TransactWriteItems"
        ),
    ],
    ids=["canceled-conflict", "conflict-exception"],
)
def test_a_transaction_conflict_is_retried_within_the_invocation(
    exchange: Exchange, error: Exception
) -> None:
    # Given a resting ask, a crossing bid, and DynamoDB refusing the first transaction with a conflict
    ex = exchange
    sym, seller, buyer = _symbol(ex), _fast_user(ex), _fast_user(ex)
    ex.admin.grant(seller, sym, 5)
    ask = place(ex, seller, sym, "sell", 5, 10_000)
    match(ex, ask)
    buy = place(ex, buyer, sym, "buy", 5, 10_000)
    client = ex.matcher_store.table.client
    real = client.transact_write_items
    calls = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return real(**kwargs)

    client.transact_write_items = flaky
    try:
        # When the matcher takes the bid
        match(ex, buy, matcher=Matcher(ex.matcher_store, sleep=lambda s: None))
    finally:
        del client.transact_write_items

    # Then it retried and settled exactly once
    assert len(calls) == 2
    assert ex.store.order(buyer, buy["id"])["status"] == "filled"
    assert cash(ex, buyer) == (START - 50_000, 0) and shares(ex, buyer, sym) == (5, 0)
    assert cash(ex, seller) == (START + 50_000, 0)


def test_a_resumed_order_is_announced_once(exchange: Exchange) -> None:
    # Given 30 one-share asks and a matcher that dies after the first part of the buy's fills
    ex = exchange
    sym, buyer = _symbol(ex), _fast_user(ex)
    sellers = [_fast_user(ex) for _ in range(30)]
    _resting(ex, sym, "sell", sellers, lambda i: 10_000)
    buy = place(ex, buyer, sym, "buy", 30, 10_000)

    class Crash(Exception):
        pass

    with recorded_commits(ex) as commits:
        inner = ex.matcher_store.commit

        def commit_then_crash(c: Any) -> None:
            if commits:
                raise Crash
            inner(c)

        ex.matcher_store.commit = commit_then_crash  # type: ignore[method-assign]
        with pytest.raises(Crash):
            match(ex, buy, matcher=Matcher(ex.matcher_store, sleep=lambda s: None))
        ex.matcher_store.commit = inner  # type: ignore[method-assign]
        assert ex.store.order(buyer, buy["id"])["status"] == "pending"

        # When the message is redelivered to a fresh container
        match(ex, buy, matcher=Matcher(ex.matcher_store))

    # Then the order was accepted once, then filled 30 times, across both deliveries
    mine = [e for c in commits for e in _events(c) if e["channel"] == f"user:{buyer}"]
    assert [e["type"] for e in mine] == ["ORDER_ACCEPTED"] + ["ORDER_FILLED"] * 30
    assert [e["data"]["filled_quantity"] for e in mine[1:]] == list(range(1, 31))


def test_orders_written_by_the_matcher_leave_the_pending_index(exchange: Exchange) -> None:
    # Given a resting ask whose cancel was requested (the api marks it for the pending sweep)
    ex = exchange
    sym, seller, buyer = _symbol(ex), _fast_user(ex), _fast_user(ex)
    ex.admin.grant(seller, sym, 5)
    ask = place(ex, seller, sym, "sell", 5, 10_000)
    match(ex, ask)
    ex.orders.cancel(seller, ask["id"])
    ex.store.table.update(
        f"USER#{seller}",
        f"ORDER#{ask['id']}",
        "SET pending_shard = :s, pending_since = :t",
        values={":s": "PENDING", ":t": 1},
    )
    buy = place(ex, buyer, sym, "buy", 5, 10_000)

    # When a bid fills the ask before the cancel message arrives
    match(ex, buy)

    # Then neither order is left in the pending index
    for user, oid in ((seller, ask["id"]), (buyer, buy["id"])):
        o = ex.store.order(user, oid)
        assert o["status"] == "filled"
        assert "pending_shard" not in o and "pending_since" not in o


def test_holdings_written_by_the_matcher_carry_the_mark_price(exchange: Exchange) -> None:
    # Given two asks at different prices and a bid taking both
    ex = exchange
    sym, seller, buyer = _symbol(ex), _fast_user(ex), _fast_user(ex)
    ex.admin.grant(seller, sym, 10)
    asks = [place(ex, seller, sym, "sell", 5, p) for p in (10_000, 10_100)]
    match(ex, *asks)
    buy = place(ex, buyer, sym, "buy", 7, 10_100)

    # When the bid is matched
    match(ex, buy)

    # Then both holdings carry the stock's last price after the batch
    assert ex.store.stock(sym)["last_price"] == 10_100
    assert ex.store.holding(buyer, sym)["mark_price"] == 10_100
    assert ex.store.holding(seller, sym)["mark_price"] == 10_100


def test_a_cancel_racing_a_fill_is_reloaded_and_kept(exchange: Exchange) -> None:
    # Given a resting ask, and its cancel requested just before the matcher's commit of a fill
    ex = exchange
    sym, seller, buyer = _symbol(ex), _fast_user(ex), _fast_user(ex)
    ex.admin.grant(seller, sym, 5)
    ask = place(ex, seller, sym, "sell", 5, 10_000)
    match(ex, ask)
    buy = place(ex, buyer, sym, "buy", 2, 10_000)
    real = ex.matcher_store.commit
    attempts = []

    def cancel_then_commit(c: Any) -> None:
        if not attempts:
            ex.orders.cancel(seller, ask["id"])
        attempts.append(c)
        real(c)

    ex.matcher_store.commit = cancel_then_commit  # type: ignore[method-assign]
    try:
        # When the bid is matched (one delivery)
        match(ex, buy, matcher=Matcher(ex.matcher_store, sleep=lambda s: None))
    finally:
        del ex.matcher_store.commit

    # Then the first commit was refused, the reload filled the bid, and the cancel request survived
    assert len(attempts) == 2
    a = ex.store.order(seller, ask["id"])
    assert (a["status"], a["remaining_quantity"], a["cancel_requested"]) == ("partially_filled", 3, True)
    assert ex.store.order(buyer, buy["id"])["status"] == "filled"
    assert shares(ex, seller, sym) == (0, 3) and cash(ex, seller) == (START + 20_000, 0)
