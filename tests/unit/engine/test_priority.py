"""Price-time priority: best price first, then earliest arrival; trades at the maker's price."""

from exchange.domain.engine import BUY, SELL, Accepted, Fill, OrderBook, Rested


def test_better_price_trades_first_whatever_its_arrival(book: OrderBook) -> None:
    # Given two asks, the cheaper one arriving later
    book.submit("a1", "u1", SELL, 10, 101, "gtc")
    book.submit("a2", "u2", SELL, 10, 100, "gtc")
    # When a buy crosses both prices for one order's worth
    events = book.submit("b1", "u3", BUY, 10, 101, "gtc")
    # Then it trades with the cheaper ask, at that ask's price
    assert events == [Accepted("b1"), Fill("b1", "a2", "u2", 100, 10, 0, 0)]
    assert list(book.resting_orders()) == [("a1", "u1", SELL, 101, 10)]


def test_same_price_trades_in_arrival_order(book: OrderBook) -> None:
    # Given three bids at one price
    for oid in ("b1", "b2", "b3"):
        book.submit(oid, "u-" + oid, BUY, 5, 99, "gtc")
    # When a sell takes two orders' worth
    events = book.submit("s1", "u9", SELL, 10, 99, "gtc")
    # Then the two earliest bids fill, in order
    assert [e.maker_id for e in events if isinstance(e, Fill)] == ["b1", "b2"]
    assert [o[0] for o in book.resting_orders()] == ["b3"]


def test_trade_price_is_the_resting_orders_price_for_a_buyer(book: OrderBook) -> None:
    # Given an ask at 100
    book.submit("a1", "u1", SELL, 7, 100, "gtc")
    # When a buy limit at 105 arrives
    events = book.submit("b1", "u2", BUY, 7, 105, "gtc")
    # Then the trade is at 100 (price improvement for the taker)
    assert events[1] == Fill("b1", "a1", "u1", 100, 7, 0, 0)


def test_trade_price_is_the_resting_orders_price_for_a_seller(book: OrderBook) -> None:
    # Given a bid at 100
    book.submit("b1", "u1", BUY, 7, 100, "gtc")
    # When a sell limit at 95 arrives
    events = book.submit("s1", "u2", SELL, 7, 95, "gtc")
    # Then the trade is at 100
    assert events[1] == Fill("s1", "b1", "u1", 100, 7, 0, 0)


def test_limit_outside_the_spread_rests_without_trading(book: OrderBook) -> None:
    # Given a bid at 99 and an ask at 101
    book.submit("b1", "u1", BUY, 1, 99, "gtc")
    book.submit("a1", "u2", SELL, 1, 101, "gtc")
    # When a buy at 100 arrives
    events = book.submit("b2", "u3", BUY, 4, 100, "gtc")
    # Then it rests and becomes the best bid
    assert events == [Accepted("b2"), Rested("b2", BUY, 100, 4)]
    assert (book.best_bid(), book.best_ask()) == (100, 101)


def test_a_partly_filled_maker_keeps_its_place(book: OrderBook) -> None:
    # Given two asks at 100, the first partly filled
    book.submit("a1", "u1", SELL, 10, 100, "gtc")
    book.submit("a2", "u2", SELL, 10, 100, "gtc")
    book.submit("b1", "u3", BUY, 4, 100, "gtc")
    # When another buy arrives
    events = book.submit("b2", "u4", BUY, 8, 100, "gtc")
    # Then the first ask is still first
    assert events[1:] == [Fill("b2", "a1", "u1", 100, 6, 2, 0), Fill("b2", "a2", "u2", 100, 2, 0, 8)]
