"""Cancel by order id; unknown or finished orders are a no-op that returns None."""

import pytest

from exchange.domain.engine import BUY, SELL, Cancelled, Fill, OrderBook


def test_cancel_removes_a_resting_order(book: OrderBook) -> None:
    # Given a resting bid
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # When it is cancelled
    ev = book.cancel("b1")
    # Then it is reported with its remaining quantity and reason user, and gone
    assert ev == Cancelled("b1", 5, "user")
    assert "b1" not in book
    assert book.depth(5) == ([], [])


def test_cancel_of_an_unknown_order_is_a_no_op(book: OrderBook) -> None:
    # Given a book with one order
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # When an unknown id is cancelled
    ev = book.cancel("nope")
    # Then None, and nothing changed
    assert ev is None
    assert list(book.resting_orders()) == [("b1", "u1", BUY, 100, 5)]


def test_second_cancel_is_a_no_op(book: OrderBook) -> None:
    # Given a cancelled order
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    book.cancel("b1")
    # When it is cancelled again
    # Then None
    assert book.cancel("b1") is None


def test_cancel_of_an_order_that_never_rested_is_a_no_op(book: OrderBook) -> None:
    # Given an IOC that was cancelled on arrival
    book.submit("i1", "u1", BUY, 5, 100, "ioc")
    # When / Then
    assert book.cancel("i1") is None


def test_cancel_reports_the_remaining_quantity_after_partial_fills(book: OrderBook) -> None:
    # Given an ask of 10 with 3 taken
    book.submit("a1", "u1", SELL, 10, 100, "gtc")
    book.submit("b1", "u2", BUY, 3, 100, "gtc")
    # When it is cancelled
    # Then 7 remain
    assert book.cancel("a1") == Cancelled("a1", 7, "user")


@pytest.mark.parametrize("position", [0, 1, 2])
def test_cancel_in_the_middle_of_a_level_keeps_the_others_in_order(book: OrderBook, position: int) -> None:
    # Given three asks at one price
    ids = ["a0", "a1", "a2"]
    for oid in ids:
        book.submit(oid, "u1", SELL, 1, 100, "gtc")
    # When one of them is cancelled and a buy takes the level
    book.cancel(ids[position])
    events = book.submit("b1", "u2", BUY, 5, 100, "ioc")
    # Then the two others fill in arrival order and the level aggregate was right
    left = [oid for oid in ids if oid != ids[position]]
    assert [e.maker_id for e in events if isinstance(e, Fill)] == left
    assert book.best_ask() is None


def test_cancel_then_rest_again_at_the_same_price(book: OrderBook) -> None:
    # Given a level emptied by a cancel
    book.submit("a1", "u1", SELL, 1, 100, "gtc")
    book.cancel("a1")
    # When a new order rests there
    book.submit("a2", "u1", SELL, 2, 100, "gtc")
    # Then the level holds only the new one
    assert book.depth(1) == ([], [(100, 2, 1)])


def test_cancel_with_an_unknown_reason_is_refused(book: OrderBook) -> None:
    # Given a resting order
    book.submit("b1", "u1", BUY, 5, 100, "gtc")
    # When / Then an unknown reason is an error and the order stays
    with pytest.raises(ValueError):
        book.cancel("b1", reason="because")
    assert "b1" in book
