"""Partial fills across any number of levels and orders."""

from exchange.domain.engine import BUY, SELL, Accepted, Fill, OrderBook, Rested


def test_taker_sweeps_several_levels_and_rests_the_rest(book: OrderBook) -> None:
    # Given asks at three prices
    book.submit("a1", "u1", SELL, 3, 100, "gtc")
    book.submit("a2", "u1", SELL, 4, 101, "gtc")
    book.submit("a3", "u1", SELL, 5, 102, "gtc")
    # When a buy for 20 up to 101 arrives
    events = book.submit("b1", "u2", BUY, 20, 101, "gtc")
    # Then it takes the two levels it may reach and rests 13 at 101
    assert events == [
        Accepted("b1"),
        Fill("b1", "a1", "u1", 100, 3, 17, 0),
        Fill("b1", "a2", "u1", 101, 4, 13, 0),
        Rested("b1", BUY, 101, 13),
    ]
    assert (book.best_bid(), book.best_ask()) == (101, 102)


def test_maker_partly_filled_keeps_the_rest_resting(book: OrderBook) -> None:
    # Given one big ask
    book.submit("a1", "u1", SELL, 100, 50, "gtc")
    # When three small buys arrive
    fills = [
        e for i in range(3) for e in book.submit(f"b{i}", "u2", BUY, 10, 50, "gtc") if isinstance(e, Fill)
    ]
    # Then each reports the maker's remaining quantity
    assert [f.maker_remaining for f in fills] == [90, 80, 70]
    assert book.order("a1") == ("a1", "u1", SELL, 50, 70)
    assert book.depth(1) == ([], [(50, 70, 1)])


def test_taker_fills_many_orders_at_one_level(book: OrderBook) -> None:
    # Given ten bids of 1 at 10
    for i in range(10):
        book.submit(i, None, BUY, 1, 10, "gtc")
    # When a sell of 7 arrives
    events = book.submit(99, None, SELL, 7, 10, "gtc")
    # Then 7 one-share fills in arrival order, taker_remaining counting down
    fills = [e for e in events if isinstance(e, Fill)]
    assert [f.maker_id for f in fills] == list(range(7))
    assert [f.taker_remaining for f in fills] == [6, 5, 4, 3, 2, 1, 0]
    assert book.depth(5) == ([(10, 3, 3)], [])


def test_exact_fill_leaves_nothing_behind(book: OrderBook) -> None:
    # Given an ask of 5
    book.submit("a1", "u1", SELL, 5, 100, "gtc")
    # When a buy of exactly 5 arrives
    events = book.submit("b1", "u2", BUY, 5, 100, "gtc")
    # Then both are gone and the book is empty
    assert events == [Accepted("b1"), Fill("b1", "a1", "u1", 100, 5, 0, 0)]
    assert len(book) == 0
    assert book.depth(10) == ([], [])
    assert "a1" not in book and "b1" not in book
