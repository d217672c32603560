"""Cancel and day expiry of untriggered stops: cheap, final, and never triggered afterwards."""

from __future__ import annotations

from exchange.domain.engine import BUY, SELL, Cancelled
from exchange.domain.market import Market
from exchange.domain.stops import Triggered


def market_with_stop() -> Market:
    market = Market("ACME", last_price=100)
    market.submit("ask", "s", SELL, 10, 101, "gtc")
    market.submit_stop("st", "u", BUY, 3, 101, 106, "day", is_market=True)
    return market


def test_cancelling_an_untriggered_stop() -> None:
    # Given a waiting stop
    market = market_with_stop()
    # When it is cancelled
    assert market.cancel("st") == Cancelled("st", 3, "user")
    # Then it is gone, a second cancel is a no-op, and the trade that would have triggered it does not
    assert "st" not in market and market.cancel("st") is None
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    assert not any(isinstance(e, Triggered) for e in events)


def test_day_expiry_of_an_untriggered_stop() -> None:
    market = market_with_stop()
    assert market.cancel("st", "expired") == Cancelled("st", 3, "expired")
    assert market.submit("t", "taker", BUY, 1, 101, "ioc")[2:] == []


def test_cancelling_an_unknown_order_is_a_no_op() -> None:
    market = market_with_stop()
    assert market.cancel("nope") is None
    assert len(market.stops) == 1 and len(market.book) == 1


def test_cancelled_stops_do_not_pile_up_in_the_heap() -> None:
    # Given 1,000 waiting sell stops on one side
    market = Market("ACME", last_price=10_000)
    for i in range(1000):
        market.submit_stop(i, "u", SELL, 1, 5000 + i, 4000, "gtc", is_market=True)
    # When 990 of them are cancelled
    for i in range(990):
        market.cancel(i)
    # Then the heap holds at most about twice the live ones plus a small constant
    assert len(market.stops) == 10
    assert market.stops.heap_size(SELL) <= 2 * 10 + 65
    # And the live ones still trigger in order (highest sell stop first)
    market.submit("bid", "b", BUY, 100, 1, "gtc")
    market.submit("ask", "a", SELL, 1, 5_000, "gtc")
    events = market.submit("t", "t", BUY, 1, 5_000, "ioc")
    assert [e.order_id for e in events if isinstance(e, Triggered)] == list(range(999, 989, -1))
