"""submit refuses malformed orders with ValueError and changes nothing."""

import pytest

from exchange.domain.engine import BUY, SELL, OrderBook


@pytest.mark.parametrize(
    ("side", "qty", "price", "tif"),
    [
        (2, 1, 100, "gtc"),  # side
        (BUY, 0, 100, "gtc"),  # qty
        (BUY, -1, 100, "gtc"),
        (BUY, 1.5, 100, "gtc"),
        (BUY, 1, 0, "gtc"),  # price
        (BUY, 1, 100.5, "gtc"),
        (SELL, 1, 100, "gtd"),  # tif
    ],
)
def test_malformed_order_is_refused(book: OrderBook, side: int, qty: int, price: int, tif: str) -> None:
    # Given an empty book / When a malformed order arrives / Then it is refused, the book untouched
    # (ValueError; a mypyc-compiled engine refuses a float already at the call: TypeError)
    with pytest.raises((ValueError, TypeError)):
        book.submit("x", "u1", side, qty, price, tif)
    assert len(book) == 0


def test_an_id_that_is_already_resting_is_refused(book: OrderBook) -> None:
    # Given a resting order
    book.submit("x", "u1", BUY, 1, 100, "gtc")
    # When the same id is submitted again / Then ValueError
    with pytest.raises(ValueError):
        book.submit("x", "u1", SELL, 1, 100, "gtc")
    assert list(book.resting_orders()) == [("x", "u1", BUY, 100, 1)]
