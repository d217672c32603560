"""A triggered stop is a market order bounded by its price_bound: a gap through the collar."""

from __future__ import annotations

from exchange.domain.engine import BUY, SELL, Cancelled, Fill
from exchange.domain.market import Market
from exchange.domain.stops import Triggered


def test_a_gap_through_the_collar_cancels_the_stop_untraded() -> None:
    # Given a buy stop at 100 with price_bound 105, and asks at 101 (x1) then only at 106
    market = Market("ACME", last_price=99)
    market.submit("a101", "s", SELL, 1, 101, "gtc")
    market.submit("a106", "s", SELL, 5, 106, "gtc")
    market.submit_stop("st", "u", BUY, 3, 100, 105, "gtc", is_market=True)
    # When a trade at 101 triggers it (taking the only ask within the collar)
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # Then the stop finds only 106 > 105: cancelled for the collar, nothing traded
    assert events[2:] == [Triggered("st", 101), Cancelled("st", 3, "collar")]
    assert market.book.level(SELL, 106) == (106, 5, 1)


def test_a_stop_fills_up_to_its_collar_and_the_rest_is_cancelled() -> None:
    market = Market("ACME", last_price=100)
    market.submit("b98", "b", BUY, 2, 98, "gtc")
    market.submit("b94", "b", BUY, 2, 94, "gtc")
    market.submit("b90", "b", BUY, 2, 90, "gtc")
    market.submit_stop("st", "u", SELL, 5, 99, 94, "gtc", is_market=True)  # bound 94 = 99 x 0.95 up
    events = market.submit("t", "taker", SELL, 1, 98, "ioc")
    assert events[2:] == [
        Triggered("st", 98),
        Fill("st", "b98", "b", 98, 1, 4, 0),
        Fill("st", "b94", "b", 94, 2, 2, 0),
        Cancelled("st", 2, "collar"),
    ]


def test_a_stop_with_nothing_on_the_other_side_is_cancelled_no_liquidity() -> None:
    market = Market("ACME", last_price=100)
    market.submit("a101", "s", SELL, 1, 101, "gtc")
    market.submit_stop("st", "u", BUY, 3, 101, 106, "gtc", is_market=True)
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    assert events[2:] == [Triggered("st", 101), Cancelled("st", 3, "no_liquidity")]
