"""The audit log in the matcher's transactions (moto): written with the effects of its inputs,
never twice on a redelivery, not at all when the commit does not happen, with the part of a split
sweep that starts its input, and replayed through the engine alone to the stored trades and book."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.adapters.audit_log import AuditLogStore
from exchange.domain.engine import BUY, SELL
from exchange.domain.replay import IDENTICAL, LogEntry, ReplayTrade, compare, replay
from exchange.usecases.matching import Matcher, Message
from tests.integration.conftest import Exchange
from tests.integration.test_matcher_defects import recorded_commits
from tests.integration.test_matching_settlement import _symbol, _user, match, place


def log(ex: Exchange, sym: str) -> list[dict[str, Any]]:
    store, entries, after = AuditLogStore(ex.store.table), [], 0
    while True:
        page = store.page(sym, after, 7)
        entries += page.entries
        if page.next_after is None:
            return entries
        after = page.next_after


def verdict(ex: Exchange, sym: str) -> str:
    """The replay of the stored log compared with the stored trades and resting orders."""
    replayed = replay([LogEntry.from_view(e) for e in log(ex, sym)], sym)
    trades = sorted(ex.store.trades(sym, 1000), key=lambda t: int(t["seq"]))
    stored = [
        ReplayTrade(
            int(t["seq"]), t["buy_order_id"], t["sell_order_id"], int(t["price"]), int(t["quantity"]),
            t["aggressor_side"],
        )
        for t in trades
    ]  # fmt: skip
    resting = [
        (o.id, o.user_id, BUY if o.is_buy else SELL, o.price, o.remaining_quantity)
        for o in ex.matcher_store.resting_orders(sym)
    ]
    return compare(replayed, stored, resting)


class Crash(Exception):
    pass


def test_each_input_is_logged_in_the_commit_of_its_effects(exchange: Exchange) -> None:
    # Given a resting sell, a crossing buy and a resting bid that is then cancelled
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 5)
    sell = place(ex, seller, sym, "sell", 5, 10_000)
    with recorded_commits(ex) as commits:
        match(ex, sell)
        buy = place(ex, buyer, sym, "buy", 3, 10_200, tif="day")
        bid = place(ex, buyer, sym, "buy", 2, 9_000)
        match(ex, buy, bid)
        ex.orders.cancel(buyer, bid["id"])
        ex.matcher.process(sym, [Message("cancel", sym, bid["id"], buyer)])

    # Then the log holds the three orders as placed and the cancel, seq 1..4, each in its commit
    entries = log(ex, sym)
    assert [(e["seq"], e["kind"]) for e in entries] == [(1, "new"), (2, "new"), (3, "new"), (4, "cancel")]
    assert entries[1]["order"] == {
        "id": buy["id"],
        "user_id": buyer,
        "side": "buy",
        "type": "limit",
        "time_in_force": "day",
        "quantity": 3,
        "limit_price": "102.00",
        "stop_price": None,
        "price_bound": None,
    }
    assert entries[3]["order_id"] == bid["id"] and entries[3]["at"].endswith("Z")
    assert [[e.seq for e in c.log] for c in commits] == [[1], [2, 3], [4]]
    assert [c.book.log_seq for c in commits] == [1, 3, 4]
    assert int(ex.store.book(sym)["log_seq"]) == 4
    # and the replay gives the stored trade and book
    assert verdict(ex, sym) == IDENTICAL


def test_a_redelivered_batch_writes_no_entry_twice(exchange: Exchange) -> None:
    # Given a batch that was committed (a sell rests, a buy takes part of it, a cancel of the rest)
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 5)
    sell = place(ex, seller, sym, "sell", 5, 10_000)
    buy = place(ex, buyer, sym, "buy", 2, 10_000)
    batch = [Message("new", sym, o["id"], o["user_id"]) for o in (sell, buy)]
    ex.matcher.process(sym, batch)
    ex.orders.cancel(seller, sell["id"])
    batch.append(Message("cancel", sym, sell["id"], seller))
    ex.matcher.process(sym, batch[2:])
    before = log(ex, sym)
    assert [e["kind"] for e in before] == ["new", "new", "cancel"]

    # When SQS delivers the whole batch again, to this container and to a fresh one
    ex.matcher.process(sym, batch)
    Matcher(ex.matcher_store).process(sym, batch)

    # Then the log is as it was
    assert log(ex, sym) == before
    assert int(ex.store.book(sym)["log_seq"]) == 3
    assert verdict(ex, sym) == IDENTICAL


def test_a_crash_before_the_commit_writes_no_entry(exchange: Exchange) -> None:
    # Given a matcher that dies before its transaction
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    bid = place(ex, buyer, sym, "buy", 2, 9_000)

    def crash(_: Any) -> None:
        raise Crash

    ex.matcher_store.commit = crash  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            match(ex, bid, matcher=Matcher(ex.matcher_store))
    finally:
        del ex.matcher_store.commit
    assert log(ex, sym) == []

    # When the message is redelivered, the entry is written once
    match(ex, bid)
    assert [(e["seq"], e["kind"], e["order"]["id"]) for e in log(ex, sym)] == [(1, "new", bid["id"])]


def test_orders_finished_without_the_engine_get_no_entry(exchange: Exchange) -> None:
    # Given an order cancelled before the matcher took it, and a resting one the scheduler expires
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    early = place(ex, buyer, sym, "buy", 1, 9_000)
    ex.orders.cancel(buyer, early["id"])
    rest = place(ex, buyer, sym, "buy", 1, 9_100, tif="day")
    ex.matcher.process(
        sym,
        [
            Message("new", sym, early["id"], buyer),
            Message("cancel", sym, early["id"], buyer),
            Message("new", sym, rest["id"], buyer),
        ],
    )
    ex.matcher.process(sym, [Message("expire", sym, rest["id"], buyer)])
    ex.matcher.process(sym, [Message("expire", sym, rest["id"], buyer)])  # again: not in the book

    # Then only what the engine was given is logged
    assert [(e["kind"], e.get("order_id") or e["order"]["id"]) for e in log(ex, sym)] == [
        ("new", rest["id"]),
        ("expire", rest["id"]),
    ]
    assert verdict(ex, sym) == IDENTICAL


def _asks(ex: Exchange, sym: str, n: int) -> list[dict[str, Any]]:
    asks = []
    for i in range(n):
        seller = _user(ex)
        ex.admin.grant(seller, sym, 1)
        asks.append(place(ex, seller, sym, "sell", 1, 10_000 + i))
    for start in range(0, n, 10):
        match(ex, *asks[start : start + 10])
    return asks


def test_a_sweep_split_over_transactions_logs_its_input_with_the_first_part(exchange: Exchange) -> None:
    # Given 40 one-share asks from 40 sellers (one buy taking them all needs several transactions)
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    _asks(ex, sym, 40)

    # When a resting bid of the buyer and then its sweeping buy arrive in one batch (the bid's one
    # write puts the sweep's first part at exactly 100 operations if the log item had no room kept)
    bid = place(ex, buyer, sym, "buy", 1, 9_000)
    buy = place(ex, buyer, sym, "buy", 40, 10_100)
    with recorded_commits(ex) as commits:
        match(ex, bid, buy)

    # Then the buy's entry goes with the first part of its fills, and no transaction passes 100 items
    assert len(commits) >= 3
    assert [c.op_count() for c in commits if c.log] and all(c.op_count() <= 100 for c in commits)
    assert [e.order.id for e in commits[0].log if e.order] == [bid["id"], buy["id"]]
    assert any(t.buy_order_id == buy["id"] for t in commits[0].trades)
    assert all(not c.log for c in commits[1:])
    assert [e["seq"] for e in log(ex, sym)] == list(range(1, 40 + 2 + 1))
    assert ex.store.order(buyer, buy["id"])["status"] == "filled"
    assert verdict(ex, sym) == IDENTICAL


def test_a_crash_between_the_parts_of_a_sweep_logs_it_once(exchange: Exchange) -> None:
    # Given 30 one-share asks and a matcher that dies after the first part of a sweep
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    _asks(ex, sym, 30)
    buy = place(ex, buyer, sym, "buy", 30, 10_100)
    done: list[Any] = []
    real = ex.matcher_store.commit

    def commit_then_crash(c: Any) -> None:
        if done:
            raise Crash
        done.append(c)
        real(c)

    ex.matcher_store.commit = commit_then_crash  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            match(ex, buy, matcher=Matcher(ex.matcher_store))
    finally:
        del ex.matcher_store.commit
    assert [e.get("order", {}).get("id") for e in log(ex, sym)][-1] == buy["id"]

    # When the message is redelivered, the order resumes: no second entry, and the replay agrees
    match(ex, buy, matcher=Matcher(ex.matcher_store))
    entries = log(ex, sym)
    assert [e["order"]["id"] for e in entries].count(buy["id"]) == 1
    assert entries[-1]["order"]["quantity"] == 30 and len(entries) == 31
    assert ex.store.order(buyer, buy["id"])["status"] == "filled"
    assert verdict(ex, sym) == IDENTICAL
