"""The matcher use case against the real adapter: fills settle to the cent, every write is
conditional, a replay changes nothing, and a stale cached book is detected."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from exchange import book_codec
from exchange.domain.errors import InsufficientFunds, InsufficientShares, NoLiquidity
from exchange.usecases.matching import Matcher, Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange


def _symbol(ex: Exchange, reference: int = 10_000, tick: int = 1) -> str:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, reference, tick)
    return symbol


def _user(ex: Exchange, cash: int = 10_000_000) -> str:
    return str(
        ex.accounts.register(f"u{uuid.uuid4().hex[:8]}@example.com", "password123", None, cash=cash)["id"]
    )


def place(
    ex: Exchange,
    user: str,
    symbol: str,
    side: str,
    qty: int,
    price: int | None,
    tif: str = "gtc",
    order_type: str = "limit",
) -> dict[str, Any]:
    order, _ = ex.orders.place(
        user,
        OrderRequest(symbol, side, order_type, qty, price, "ioc" if order_type == "market" else tif, None),
    )
    return order


def match(ex: Exchange, *orders: dict[str, Any], matcher: Matcher | None = None) -> None:
    (matcher or ex.matcher).process(
        orders[0]["symbol"], [Message("new", o["symbol"], o["id"], o["user_id"]) for o in orders]
    )


def cash(ex: Exchange, user: str) -> tuple[int, int]:
    c = ex.store.cash(user) or {}
    return int(c["available"]), int(c["reserved"])


def shares(ex: Exchange, user: str, symbol: str) -> tuple[int, int]:
    h = ex.store.holding(user, symbol) or {}
    return int(h.get("available", 0)), int(h.get("reserved", 0))


def test_a_trade_settles_at_the_resting_price_with_price_improvement(exchange: Exchange) -> None:
    # Given a resting sell of 5 @ 100.00 and a buyer bidding 102.00 for 3
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 5)
    sell = place(ex, seller, sym, "sell", 5, 10_000)
    match(ex, sell)
    buy = place(ex, buyer, sym, "buy", 3, 10_200)
    assert cash(ex, buyer) == (10_000_000 - 30_600, 30_600)

    # When the matcher takes the buy
    match(ex, buy)

    # Then the buyer paid 300.00, got 6.00 of price improvement back, holds 3 shares at 100.00
    assert cash(ex, buyer) == (10_000_000 - 30_000, 0)
    assert shares(ex, buyer, sym) == (3, 0)
    assert cash(ex, seller) == (10_000_000 + 30_000, 0)
    assert shares(ex, seller, sym) == (0, 2)
    b = ex.store.order(buyer, buy["id"])
    s = ex.store.order(seller, sell["id"])
    assert (b["status"], b["filled_quantity"], b["reserved_cash"], b["fill_cost"]) == ("filled", 3, 0, 30_000)
    assert (s["status"], s["remaining_quantity"], s["reserved_quantity"]) == ("partially_filled", 2, 2)
    assert s["book_symbol"] == sym and "book_symbol" not in b
    holding = ex.store.holding(seller, sym)
    assert holding["cost_basis"] == 20_000 and holding["realized_pnl"] == 0  # sold at cost


def test_replaying_a_batch_changes_nothing(exchange: Exchange) -> None:
    # Given a trade that has been matched and committed
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 5)
    sell, buy = place(ex, seller, sym, "sell", 5, 10_000), place(ex, buyer, sym, "buy", 5, 10_000)
    match(ex, sell, buy)
    before = (cash(ex, buyer), cash(ex, seller), shares(ex, buyer, sym), ex.store.book(sym)["version"])

    # When SQS delivers the same messages again (to this container, and to a fresh one)
    match(ex, sell, buy)
    match(ex, sell, buy, matcher=Matcher(ex.matcher_store))

    # Then nothing moved twice
    after = (cash(ex, buyer), cash(ex, seller), shares(ex, buyer, sym), ex.store.book(sym)["version"])
    assert after == before
    assert len(ex.store.trades(sym, 10)) == 1


def test_a_container_with_a_stale_book_rebuilds_it(exchange: Exchange) -> None:
    # Given two matcher containers; the first caches the book, the second moves it on
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10)
    first, second = Matcher(ex.matcher_store), Matcher(ex.matcher_store)
    s1 = place(ex, seller, sym, "sell", 4, 10_100)
    match(ex, s1, matcher=first)
    s2 = place(ex, seller, sym, "sell", 4, 10_000)
    match(ex, s2, matcher=second)

    # When the first container gets the next message with its stale cached book
    buy = place(ex, buyer, sym, "buy", 6, 10_100)
    match(ex, buy, matcher=first)

    # Then it matched against the stored book: best price first (100.00 x4, then 101.00 x2)
    fills = ex.store.fills_of_order(buyer, buy["id"])
    assert [(f["price"], f["quantity"]) for f in fills] == [(10_000, 4), (10_100, 2)]
    assert cash(ex, buyer) == (10_000_000 - 40_000 - 20_200, 0)


def test_reservations_are_refused_when_short(exchange: Exchange) -> None:
    ex = exchange
    sym, poor = _symbol(ex), _user(ex, cash=5_000)
    with pytest.raises(InsufficientFunds):
        place(ex, poor, sym, "buy", 1, 5_001)
    with pytest.raises(InsufficientShares):
        place(ex, poor, sym, "sell", 1, 5_000)
    assert cash(ex, poor) == (5_000, 0)
    assert ex.store.orders(poor, "all", None, 10, None).items == []


def test_market_order_is_collared_and_needs_liquidity(exchange: Exchange) -> None:
    # Given an empty book: a market buy is refused with no order
    ex = exchange
    sym, seller, buyer = _symbol(ex, reference=10_000), _user(ex), _user(ex)
    with pytest.raises(NoLiquidity):
        place(ex, buyer, sym, "buy", 1, None, order_type="market")
    ex.admin.grant(seller, sym, 10)
    asks = [place(ex, seller, sym, "sell", 2, p) for p in (10_400, 10_500, 10_600)]
    match(ex, *asks)

    # When a market buy for 10 arrives (collar: 100.00 x 1.05 = 105.00)
    buy = place(ex, buyer, sym, "buy", 10, None, order_type="market")
    assert buy["price_bound"] == 10_500 and buy["reserved_cash"] == 105_000
    match(ex, buy)

    # Then it took 104.00 and 105.00 only; the rest was cancelled for the collar, money returned
    b = ex.store.order(buyer, buy["id"])
    assert (b["status"], b["filled_quantity"], b["cancel_reason"], b["reserved_cash"]) == (
        "cancelled",
        4,
        "collar",
        0,
    )
    assert cash(ex, buyer) == (10_000_000 - 2 * 10_400 - 2 * 10_500, 0)


def test_self_trade_prevention_cancels_the_incoming_remainder(exchange: Exchange) -> None:
    ex = exchange
    sym, trader, other = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(trader, sym, 10)
    ex.admin.grant(other, sym, 10)
    own = place(ex, trader, sym, "sell", 5, 10_000)
    theirs = place(ex, other, sym, "sell", 5, 10_100)
    match(ex, own, theirs)
    buy = place(ex, trader, sym, "buy", 5, 10_100)
    match(ex, buy)
    b = ex.store.order(trader, buy["id"])
    assert (b["status"], b["filled_quantity"], b["cancel_reason"]) == (
        "cancelled",
        0,
        "self_trade_prevention",
    )
    assert cash(ex, trader) == (10_000_000, 0)
    assert ex.store.order(trader, own["id"])["status"] == "open"


def test_cancel_releases_the_reservation_through_the_sequence(exchange: Exchange) -> None:
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    buy = place(ex, buyer, sym, "buy", 10, 9_000)
    match(ex, buy)
    ex.orders.cancel(buyer, buy["id"])
    assert ex.store.order(buyer, buy["id"])["cancel_requested"] is True
    ex.matcher.process(sym, [Message("cancel", sym, buy["id"], buyer)])
    o = ex.store.order(buyer, buy["id"])
    assert (o["status"], o["cancel_reason"], o["reserved_cash"]) == ("cancelled", "user", 0)
    assert cash(ex, buyer) == (10_000_000, 0)
    assert book_codec.levels(ex.store.book(sym))[0] == []


def test_an_order_sweeping_more_makers_than_one_transaction_holds(exchange: Exchange) -> None:
    # Given 40 resting asks of one share each, from 40 different sellers (6 writes per fill)
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    sellers = [_user(ex) for _ in range(40)]
    asks = []
    for i, seller in enumerate(sellers):
        ex.admin.grant(seller, sym, 1)
        asks.append(place(ex, seller, sym, "sell", 1, 10_000 + i))
    for start in range(0, 40, 10):
        match(ex, *asks[start : start + 10])
    version_before = ex.store.book(sym)["version"]

    # When one buy takes all 40
    buy = place(ex, buyer, sym, "buy", 40, 10_100)
    match(ex, buy)

    # Then it filled completely over several transactions, and everything settled exactly
    b = ex.store.order(buyer, buy["id"])
    assert (b["status"], b["filled_quantity"], b["reserved_cash"]) == ("filled", 40, 0)
    assert "pending_shard" not in b
    paid = sum(10_000 + i for i in range(40))
    assert cash(ex, buyer) == (10_000_000 - paid, 0)
    assert shares(ex, buyer, sym) == (40, 0)
    assert all(cash(ex, s) == (10_000_000 + 10_000 + i, 0) for i, s in enumerate(sellers))
    book = ex.store.book(sym)
    assert book_codec.levels(book)[1] == [] and book["partial"] is False
    assert book["version"] - version_before >= 3
    assert len(ex.store.fills_of_order(buyer, buy["id"])) == 40
    # and a fresh container rebuilds the same (empty) book
    match(ex, place(ex, buyer, sym, "buy", 1, 9_000), matcher=Matcher(ex.matcher_store))
    assert book_codec.levels(ex.store.book(sym))[0] == [[9_000, 1, 1]]


def test_a_crash_between_the_parts_of_one_order_resumes_on_redelivery(exchange: Exchange) -> None:
    # Given 30 one-share asks from 30 sellers, and a matcher that dies after its first commit
    ex = exchange
    sym, buyer = _symbol(ex), _user(ex)
    sellers = [_user(ex) for _ in range(30)]
    asks = []
    for seller in sellers:
        ex.admin.grant(seller, sym, 1)
        asks.append(place(ex, seller, sym, "sell", 1, 10_000))
    for start in range(0, 30, 10):
        match(ex, *asks[start : start + 10])
    buy = place(ex, buyer, sym, "buy", 30, 10_000)

    class Crash(Exception):
        pass

    commits = []
    real_commit = ex.matcher_store.commit

    def commit_then_crash(c: Any) -> None:
        if commits:
            raise Crash
        commits.append(c)
        real_commit(c)

    dying = Matcher(ex.matcher_store)
    ex.matcher_store.commit = commit_then_crash  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            match(ex, buy, matcher=dying)
    finally:
        del ex.matcher_store.commit
    half = ex.store.order(buyer, buy["id"])
    assert half["status"] == "pending" and 0 < half["filled_quantity"] < 30

    # When SQS redelivers the message to a fresh container
    match(ex, buy, matcher=Matcher(ex.matcher_store))

    # Then the order resumed where it stopped: filled once, every share and cent exactly once
    b = ex.store.order(buyer, buy["id"])
    assert (b["status"], b["filled_quantity"], b["reserved_cash"]) == ("filled", 30, 0)
    assert cash(ex, buyer) == (10_000_000 - 300_000, 0) and shares(ex, buyer, sym) == (30, 0)
    assert sorted(cash(ex, s)[0] for s in sellers) == [10_010_000] * 30
    assert len(ex.store.trades(sym, 100)) == 30
