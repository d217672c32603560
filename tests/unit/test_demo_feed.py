"""What the demo traders read from the API and the WebSocket, and what they send: the feed's view of
the market from pushed events, money strings to cents, the order body."""

from __future__ import annotations

import threading

from local_stack.demo.client import cents, decimal
from local_stack.demo.feed import TRADES_KEPT, MarketFeed
from local_stack.demo.market import order_body
from local_stack.demo.strategies import Place, Stock


def feed() -> MarketFeed:
    return MarketFeed("ws://127.0.0.1:1/", [Stock("ACME", 1, 10_000)], threading.Event())


def test_the_feed_follows_trades_and_the_top_of_the_book() -> None:
    # Given the feed of one stock
    f = feed()
    # When the WebSocket pushes two trades and a book change (and events of a stock it does not follow)
    for price in ("100.10", "100.25"):
        f.on_message({"type": "TRADE_EXECUTED", "data": {"symbol": "ACME", "price": price, "quantity": 1}})
    book = {"symbol": "ACME", "bids": [{"price": "100.20", "quantity": 3, "orders": 1}], "asks": []}
    f.on_message({"type": "ORDER_BOOK_UPDATED", "data": book})
    f.on_message({"type": "TRADE_EXECUTED", "data": {"symbol": "OTHER", "price": "1.00", "quantity": 1}})
    # Then the traders see the last price, the recent trades oldest first, and the book's top
    acme = f.view()["ACME"]
    assert (acme.last, acme.trades, acme.best_bid, acme.best_ask) == (10_025, (10_010, 10_025), 10_020, None)
    assert list(f.view()) == ["ACME"] and f.trade_count == 2


def test_the_feed_keeps_only_the_recent_trades() -> None:
    f = feed()
    for i in range(TRADES_KEPT + 5):
        f.on_message({"type": "TRADE_EXECUTED", "data": {"symbol": "ACME", "price": f"1.{i:02d}"}})
    assert f.view()["ACME"].trades == tuple(100 + i for i in range(5, TRADES_KEPT + 5))


def test_money_strings_and_order_bodies() -> None:
    assert [cents("101.25"), cents("0.05"), cents("7"), cents("12.3"), cents(None)] == [
        10_125,
        5,
        700,
        1_230,
        None,
    ]
    assert decimal(10_125) == "101.25" and decimal(5) == "0.05"
    assert order_body(Place("ACME", "buy", 3, 10_125)) == {
        "symbol": "ACME",
        "side": "buy",
        "quantity": 3,
        "type": "limit",
        "limit_price": "101.25",
    }
    assert order_body(Place("ACME", "sell", 2)) == {
        "symbol": "ACME",
        "side": "sell",
        "quantity": 2,
        "type": "market",
    }
