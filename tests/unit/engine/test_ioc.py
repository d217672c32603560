"""Immediate-or-cancel limit orders never rest."""

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, OrderBook


def test_ioc_fills_what_it_can_and_cancels_the_rest(book: OrderBook) -> None:
    # Given an ask of 3 at 100 and one at 102
    book.submit("a1", "u1", SELL, 3, 100, "gtc")
    book.submit("a2", "u1", SELL, 3, 102, "gtc")
    # When an IOC buy of 5 at 101 arrives
    events = book.submit("i1", "u2", BUY, 5, 101, "ioc")
    # Then it fills 3 and its remainder is cancelled, never resting
    assert events == [
        Accepted("i1"),
        Fill("i1", "a1", "u1", 100, 3, 2, 0),
        Cancelled("i1", 2, "unfilled_ioc"),
    ]
    assert "i1" not in book
    assert book.best_bid() is None


def test_ioc_with_nothing_to_take_is_cancelled_whole(book: OrderBook) -> None:
    # Given an empty book
    # When an IOC sell arrives
    events = book.submit("i1", "u1", SELL, 5, 100, "ioc")
    # Then it is cancelled whole
    assert events == [Accepted("i1"), Cancelled("i1", 5, "unfilled_ioc")]
    assert len(book) == 0


def test_ioc_filled_in_full_has_no_cancel(book: OrderBook) -> None:
    # Given a bid of 5
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # When an IOC sell of 5 arrives
    events = book.submit("i1", "u2", SELL, 5, 100, "ioc")
    # Then it fills with no cancel
    assert events == [Accepted("i1"), Fill("i1", "b1", "u1", 100, 5, 0, 0)]
