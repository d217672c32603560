"""Self-trade prevention: an incoming order never trades with its own user's resting orders."""

import pytest

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, OrderBook


@pytest.mark.parametrize("tif", ["gtc", "day", "ioc"])
def test_incoming_remainder_is_cancelled_on_reaching_an_own_order(book: OrderBook, tif: str) -> None:
    # Given another user's ask, then u1's own ask, then another ask, all at 100
    book.submit("a1", "u2", SELL, 3, 100, "gtc")
    book.submit("own", "u1", SELL, 3, 100, "gtc")
    book.submit("a3", "u3", SELL, 3, 100, "gtc")
    # When u1 buys 9 at 100
    events = book.submit("b1", "u1", BUY, 9, 100, tif)
    # Then it fills ahead of its own order, and its remainder is cancelled (not rested)
    assert events == [
        Accepted("b1"),
        Fill("b1", "a1", "u2", 100, 3, 6, 0),
        Cancelled("b1", 6, "self_trade_prevention"),
    ]
    assert "b1" not in book
    assert [o[0] for o in book.resting_orders()] == ["own", "a3"]


def test_market_order_reaching_an_own_order(book: OrderBook) -> None:
    # Given u1's own bid is best
    book.submit("own", "u1", BUY, 3, 100, "gtc")
    book.submit("b2", "u2", BUY, 3, 99, "gtc")
    # When u1 sends a market sell
    events = book.submit("m1", "u1", SELL, 5, 95, "ioc", is_market=True)
    # Then nothing trades: the remainder is cancelled for self-trade prevention
    assert events == [Accepted("m1"), Cancelled("m1", 5, "self_trade_prevention")]


def test_own_order_beyond_the_limit_does_not_stop_anything(book: OrderBook) -> None:
    # Given an ask at 100 from u2 and u1's own ask at 105
    book.submit("a1", "u2", SELL, 3, 100, "gtc")
    book.submit("own", "u1", SELL, 3, 105, "gtc")
    # When u1 buys 5 at 101
    events = book.submit("b1", "u1", BUY, 5, 101, "gtc")
    # Then it is never reached: the remainder rests
    assert events[-1].__class__.__name__ == "Rested"
    assert book.best_bid() == 101


def test_own_order_only_after_the_fill_is_done(book: OrderBook) -> None:
    # Given enough from others ahead of u1's own ask
    book.submit("a1", "u2", SELL, 5, 100, "gtc")
    book.submit("own", "u1", SELL, 3, 100, "gtc")
    # When u1 buys 5
    events = book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # Then it fills in full, no cancel
    assert events == [Accepted("b1"), Fill("b1", "a1", "u2", 100, 5, 0, 0)]


def test_user_none_never_self_trades(book: OrderBook) -> None:
    # Given an ask with no user
    book.submit("a1", None, SELL, 5, 100, "gtc")
    # When a buy with no user arrives
    events = book.submit("b1", None, BUY, 5, 100, "gtc")
    # Then they trade
    assert events[1] == Fill("b1", "a1", None, 100, 5, 0, 0)
