"""Depth: top-N aggregated levels per side, and best bid/ask."""

from exchange.domain.engine import BUY, SELL, OrderBook


def test_empty_book(book: OrderBook) -> None:
    # Given / When / Then an empty book has no depth and no best prices
    assert book.depth(10) == ([], [])
    assert book.best_bid() is None and book.best_ask() is None


def test_levels_aggregate_quantity_and_count_in_price_order(book: OrderBook) -> None:
    # Given several bids and asks
    for oid, side, qty, price in [
        ("b1", BUY, 5, 99), ("b2", BUY, 7, 98), ("b3", BUY, 1, 99), ("b4", BUY, 2, 97),
        ("a1", SELL, 4, 101), ("a2", SELL, 6, 103), ("a3", SELL, 8, 101),
    ]:  # fmt: skip
        book.submit(oid, "u", side, qty, price, "gtc")
    # When depth is asked for
    bids, asks = book.depth(10)
    # Then bids run high->low and asks low->high, with totals and counts
    assert bids == [(99, 6, 2), (98, 7, 1), (97, 2, 1)]
    assert asks == [(101, 12, 2), (103, 6, 1)]
    assert (book.best_bid(), book.best_ask()) == (99, 101)


def test_depth_is_cut_at_n(book: OrderBook) -> None:
    # Given ten levels per side
    for i in range(10):
        book.submit(f"b{i}", None, BUY, 1, 90 - i, "gtc")
        book.submit(f"a{i}", None, SELL, 1, 110 + i, "gtc")
    # When the top 3 are asked for
    bids, asks = book.depth(3)
    # Then exactly the 3 best of each side
    assert [lv[0] for lv in bids] == [90, 89, 88]
    assert [lv[0] for lv in asks] == [110, 111, 112]
    assert book.depth(0) == ([], [])


def test_depth_follows_fills_and_cancels(book: OrderBook) -> None:
    # Given two asks at 100 and one at 101
    book.submit("a1", None, SELL, 5, 100, "gtc")
    book.submit("a2", None, SELL, 5, 100, "gtc")
    book.submit("a3", None, SELL, 5, 101, "gtc")
    # When 7 are bought and a3 is cancelled
    book.submit("b1", None, BUY, 7, 100, "gtc")
    book.cancel("a3")
    # Then one order of 3 is left at 100
    assert book.depth(5) == ([], [(100, 3, 1)])
    assert book.level(SELL, 100) == (100, 3, 1)
    assert book.level(SELL, 101) is None


def test_touched_levels_reports_the_levels_an_order_changed(book: OrderBook) -> None:
    # Given asks at 100 (two orders) and 101
    book.submit("a1", None, SELL, 5, 100, "gtc")
    book.submit("a2", None, SELL, 5, 100, "gtc")
    book.submit("a3", None, SELL, 5, 101, "gtc")
    # When a buy for 12 up to 101 takes all of 100 and 2 at 101
    events = book.submit("b1", None, BUY, 12, 101, "gtc")
    # Then the ask level at 100 is gone and 101 has 3 left
    assert book.touched_levels(BUY, events) == [(SELL, 100, 0, 0), (SELL, 101, 3, 1)]
    # And a resting remainder is reported too
    events = book.submit("b2", None, BUY, 4, 99, "gtc")
    assert book.touched_levels(BUY, events) == [(BUY, 99, 4, 1)]
