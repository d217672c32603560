"""Fill-or-kill: all at once, or nothing and the book untouched."""

import pytest

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, OrderBook


def test_fok_fills_entirely_across_levels(book: OrderBook) -> None:
    # Given 4 at 100 and 4 at 101
    book.submit("a1", "u1", SELL, 4, 100, "gtc")
    book.submit("a2", "u1", SELL, 4, 101, "gtc")
    # When a FOK buy of 8 at 101 arrives
    events = book.submit("f1", "u2", BUY, 8, 101, "fok")
    # Then it fills all 8
    assert events == [
        Accepted("f1"),
        Fill("f1", "a1", "u1", 100, 4, 4, 0),
        Fill("f1", "a2", "u1", 101, 4, 0, 0),
    ]
    assert len(book) == 0


def test_fok_not_fillable_leaves_the_book_untouched(book: OrderBook) -> None:
    # Given 4 at 100 and 4 at 102
    book.submit("a1", "u1", SELL, 4, 100, "gtc")
    book.submit("a2", "u1", SELL, 4, 102, "gtc")
    before = list(book.resting_orders())
    # When a FOK buy of 8 at 101 arrives (only 4 within its limit)
    events = book.submit("f1", "u2", BUY, 8, 101, "fok")
    # Then it is cancelled with no fill and nothing changed
    assert events == [Accepted("f1"), Cancelled("f1", 8, "fok_not_fillable")]
    assert list(book.resting_orders()) == before


def test_fok_on_an_empty_book(book: OrderBook) -> None:
    # Given an empty book
    # When a FOK sell arrives
    events = book.submit("f1", "u1", SELL, 1, 100, "fok")
    # Then it is not fillable
    assert events == [Accepted("f1"), Cancelled("f1", 1, "fok_not_fillable")]


@pytest.mark.parametrize("user", ["u2", None])
def test_fok_exactly_fillable(book: OrderBook, user: str | None) -> None:
    # Given exactly 6 within the limit
    book.submit("b1", "u1", BUY, 2, 100, "gtc")
    book.submit("b2", "u1", BUY, 4, 99, "gtc")
    book.submit("b3", "u1", BUY, 9, 98, "gtc")
    # When a FOK sell of 6 at 99 arrives
    events = book.submit("f1", user, SELL, 6, 99, "fok")
    # Then it fills in full and the bid at 98 is untouched
    assert [type(e).__name__ for e in events] == ["Accepted", "Fill", "Fill"]
    assert list(book.resting_orders()) == [("b3", "u1", BUY, 98, 9)]


@pytest.mark.parametrize("user", ["u2", None])
def test_fok_one_short_is_not_fillable(book: OrderBook, user: str | None) -> None:
    # Given 5 within the limit
    book.submit("a1", "u1", SELL, 2, 100, "gtc")
    book.submit("a2", "u1", SELL, 3, 101, "gtc")
    # When a FOK buy of 6 at 101 arrives
    events = book.submit("f1", user, BUY, 6, 101, "fok")
    # Then it is not fillable
    assert events == [Accepted("f1"), Cancelled("f1", 6, "fok_not_fillable")]


def test_fok_counts_only_liquidity_ahead_of_its_users_own_order(book: OrderBook) -> None:
    # Given 3 from u1, then the FOK user's own ask, then 10 more from u1, all at 100
    book.submit("a1", "u1", SELL, 3, 100, "gtc")
    book.submit("own", "u2", SELL, 1, 100, "gtc")
    book.submit("a2", "u1", SELL, 10, 100, "gtc")
    before = list(book.resting_orders())
    # When u2 sends a FOK buy of 5
    events = book.submit("f1", "u2", BUY, 5, 100, "fok")
    # Then only 3 lie ahead of its own order: not fillable, no fill
    assert events == [Accepted("f1"), Cancelled("f1", 5, "fok_not_fillable")]
    assert list(book.resting_orders()) == before


def test_fok_fillable_before_reaching_its_users_own_order(book: OrderBook) -> None:
    # Given 5 from u1 ahead of u2's own ask
    book.submit("a1", "u1", SELL, 5, 100, "gtc")
    book.submit("own", "u2", SELL, 1, 101, "gtc")
    # When u2 sends a FOK buy of 5 up to 101
    events = book.submit("f1", "u2", BUY, 5, 101, "fok")
    # Then it fills without touching its own order
    assert events == [Accepted("f1"), Fill("f1", "a1", "u1", 100, 5, 0, 0)]
    assert "own" in book
