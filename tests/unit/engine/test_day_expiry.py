"""Day orders rest like gtc and leave at the close through cancel(reason="expired")."""

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, OrderBook, Rested


def test_day_order_rests_like_gtc(book: OrderBook) -> None:
    # Given / When a day bid arrives
    events = book.submit("d1", "u1", BUY, 5, 100, "day")
    # Then it rests
    assert events == [Accepted("d1"), Rested("d1", BUY, 100, 5)]
    assert "d1" in book


def test_expiry_cancels_the_remainder_with_reason_expired(book: OrderBook) -> None:
    # Given a day ask partly filled
    book.submit("d1", "u1", SELL, 10, 100, "day")
    book.submit("b1", "u2", BUY, 4, 100, "gtc")
    # When the day ends
    ev = book.cancel("d1", reason="expired")
    # Then its remainder is cancelled as expired and the level is gone
    assert ev == Cancelled("d1", 6, "expired")
    assert book.best_ask() is None


def test_expiry_of_a_filled_day_order_is_a_no_op(book: OrderBook) -> None:
    # Given a day order that filled completely
    book.submit("d1", "u1", SELL, 4, 100, "day")
    assert book.submit("b1", "u2", BUY, 4, 100, "gtc")[1] == Fill("b1", "d1", "u1", 100, 4, 0, 0)
    # When the day ends
    ev = book.cancel("d1", reason="expired")
    # Then there is nothing to expire
    assert ev is None


def test_expiry_keeps_the_other_orders_priority(book: OrderBook) -> None:
    # Given gtc, day, gtc asks at one price
    book.submit("g1", "u1", SELL, 1, 100, "gtc")
    book.submit("d1", "u1", SELL, 1, 100, "day")
    book.submit("g2", "u1", SELL, 1, 100, "gtc")
    # When the day order expires and a buy of 2 arrives
    book.cancel("d1", reason="expired")
    events = book.submit("b1", "u2", BUY, 2, 100, "gtc")
    # Then the two gtc orders fill in their order
    assert events == [
        Accepted("b1"),
        Fill("b1", "g1", "u1", 100, 1, 1, 0),
        Fill("b1", "g2", "u1", 100, 1, 0, 0),
    ]
