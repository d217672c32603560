"""Market orders: always IOC, bounded by their price_bound (the collar)."""

import pytest

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, OrderBook


def test_market_buy_stops_at_its_bound_and_cancels_with_collar(book: OrderBook) -> None:
    # Given asks at 100 and 106
    book.submit("a1", "u1", SELL, 5, 100, "gtc")
    book.submit("a2", "u1", SELL, 5, 106, "gtc")
    # When a market buy of 8 with bound 105 arrives
    events = book.submit("m1", "u2", BUY, 8, 105, "ioc", is_market=True)
    # Then it takes what lies within the bound; the rest is cancelled for the collar
    assert events == [Accepted("m1"), Fill("m1", "a1", "u1", 100, 5, 3, 0), Cancelled("m1", 3, "collar")]
    assert book.best_ask() == 106
    assert "m1" not in book


def test_market_sell_never_trades_below_its_bound(book: OrderBook) -> None:
    # Given bids at 100 and 94
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    book.submit("b2", "u1", BUY, 5, 94, "gtc")
    # When a market sell of 10 with bound 95 arrives
    events = book.submit("m1", "u2", SELL, 10, 95, "ioc", is_market=True)
    # Then only the bid at 100 trades
    assert events[1:] == [Fill("m1", "b1", "u1", 100, 5, 5, 0), Cancelled("m1", 5, "collar")]


def test_market_order_that_empties_the_side_cancels_with_no_liquidity(book: OrderBook) -> None:
    # Given a single ask
    book.submit("a1", "u1", SELL, 5, 100, "gtc")
    # When a market buy for more arrives
    events = book.submit("m1", "u2", BUY, 9, 105, "ioc", is_market=True)
    # Then the remainder is cancelled: nothing is left on the other side
    assert events[1:] == [Fill("m1", "a1", "u1", 100, 5, 4, 0), Cancelled("m1", 4, "no_liquidity")]


def test_market_order_on_an_empty_side(book: OrderBook) -> None:
    # Given only bids
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # When a market buy arrives
    events = book.submit("m1", "u2", BUY, 9, 105, "ioc", is_market=True)
    # Then nothing trades: no_liquidity
    assert events == [Accepted("m1"), Cancelled("m1", 9, "no_liquidity")]


def test_market_order_with_all_liquidity_beyond_the_bound(book: OrderBook) -> None:
    # Given an ask above the bound only
    book.submit("a1", "u1", SELL, 5, 110, "gtc")
    # When a market buy arrives
    events = book.submit("m1", "u2", BUY, 1, 105, "ioc", is_market=True)
    # Then nothing trades: collar
    assert events == [Accepted("m1"), Cancelled("m1", 1, "collar")]


def test_market_order_filled_in_full_has_no_cancel(book: OrderBook) -> None:
    # Given enough liquidity within the bound
    book.submit("a1", "u1", SELL, 5, 100, "gtc")
    # When a market buy arrives
    events = book.submit("m1", "u2", BUY, 5, 105, "ioc", is_market=True)
    # Then it just fills
    assert events == [Accepted("m1"), Fill("m1", "a1", "u1", 100, 5, 0, 0)]


def test_market_order_trading_exactly_at_its_bound(book: OrderBook) -> None:
    # Given an ask exactly at the bound
    book.submit("a1", "u1", SELL, 5, 105, "gtc")
    # When a market buy bounded at 105 arrives
    events = book.submit("m1", "u2", BUY, 5, 105, "ioc", is_market=True)
    # Then it trades: the bound is inclusive
    assert events[1] == Fill("m1", "a1", "u1", 105, 5, 0, 0)


@pytest.mark.parametrize("tif", ["gtc", "day", "fok"])
def test_market_order_must_be_ioc(book: OrderBook, tif: str) -> None:
    # Given / When / Then a market order with another time in force is refused, book untouched
    with pytest.raises(ValueError):
        book.submit("m1", "u1", BUY, 5, 105, tif, is_market=True)
    assert len(book) == 0
