"""Rebuilding a book from its stored resting orders gives an equal book."""

import pytest

from exchange.domain.engine import BUY, SELL, OrderBook


def _busy_book() -> OrderBook:
    book = OrderBook("ACME")
    book.submit("b1", "u1", BUY, 5, 99, "gtc")
    book.submit("b2", "u2", BUY, 5, 99, "day")
    book.submit("b3", "u1", BUY, 5, 98, "gtc")
    book.submit("a1", "u3", SELL, 5, 101, "gtc")
    book.submit("a2", "u3", SELL, 5, 102, "gtc")
    book.submit("s1", "u4", SELL, 7, 99, "gtc")  # takes b1 and 2 of b2
    book.cancel("a2")
    return book


def test_rebuild_from_resting_orders_gives_an_equal_book() -> None:
    # Given a book that has seen fills and cancels
    book = _busy_book()
    book.version = 7
    # When it is rebuilt from its resting orders
    copy = OrderBook.rebuild("ACME", book.resting_orders(), 7)
    # Then the copy is equal: same orders, same priority, same depth and version
    assert copy == book
    assert copy.version == 7
    assert copy.depth(10) == book.depth(10)
    assert list(copy.resting_orders()) == [
        ("b2", "u2", BUY, 99, 3),
        ("b3", "u1", BUY, 98, 5),
        ("a1", "u3", SELL, 101, 5),
    ]


def test_rebuilt_book_matches_like_the_original() -> None:
    # Given a book and its rebuilt copy
    book = _busy_book()
    copy = OrderBook.rebuild("ACME", list(book.resting_orders()), 1)
    # When the same orders go to both
    flow = [("x1", "u9", SELL, 10, 98, "gtc"), ("x2", "u8", BUY, 3, 101, "ioc")]
    # Then they do the same
    for order in flow:
        assert copy.submit(*order) == book.submit(*order)
    assert copy == book


def test_rebuild_keeps_arrival_order_within_a_price() -> None:
    # Given stored orders in their arrival sequence
    stored = [("o1", "u1", SELL, 100, 1), ("o2", "u2", SELL, 101, 1), ("o3", "u3", SELL, 100, 1)]
    # When the book is rebuilt
    book = OrderBook.rebuild("ACME", stored, 3)
    # Then time priority at 100 is o1 then o3
    assert [o[0] for o in book.resting_orders()] == ["o1", "o3", "o2"]


def test_rebuild_refuses_a_crossed_book() -> None:
    # Given / When / Then a bid at or above an ask cannot be a resting state
    with pytest.raises(ValueError, match="crossed"):
        OrderBook.rebuild("ACME", [("b", "u1", BUY, 100, 1), ("a", "u2", SELL, 100, 1)], 1)


@pytest.mark.parametrize(
    "stored",
    [
        [("o1", "u1", BUY, 100, 1), ("o1", "u1", BUY, 99, 1)],  # duplicate id
        [("o1", "u1", BUY, 100, 0)],  # no quantity
        [("o1", "u1", 2, 100, 1)],  # no such side
        [("o1", "u1", SELL, 0, 1)],  # no price
    ],
)
def test_rebuild_refuses_bad_input(stored: list[tuple[str, str, int, int, int]]) -> None:
    # Given / When / Then
    with pytest.raises(ValueError):
        OrderBook.rebuild("ACME", stored, 1)


def test_books_of_different_symbols_differ() -> None:
    # Given two empty books
    # When / Then they are not equal across symbols
    assert OrderBook("A") != OrderBook("B")
    assert OrderBook("A") == OrderBook("A")
