"""Trading halts in the stock's input sequence: new orders rejected, resting orders stay, cancels
work, stops do not trigger; resume triggers nothing by itself."""

from __future__ import annotations

from exchange.domain.engine import BUY, SELL, Cancelled, Fill
from exchange.domain.market import Halted, Market, Rejected, Resumed
from exchange.domain.stops import Armed, Triggered


def halted_market() -> Market:
    market = Market("ACME", last_price=100)
    market.submit("ask", "seller", SELL, 5, 101, "gtc")
    market.submit("bid", "buyer", BUY, 5, 99, "gtc")
    market.submit_stop("st", "trader", BUY, 2, 101, 106, "gtc", is_market=True)
    assert market.halt() == [Halted()]
    return market


def test_new_orders_sequenced_after_the_halt_are_rejected_and_no_stop_triggers() -> None:
    # Given a halted market whose buy stop at 101 the ask at 101 could trigger
    market = halted_market()
    # When orders that would trade (and so trigger the stop) arrive, Then they are rejected whole
    assert market.submit("l", "u", BUY, 1, 101, "gtc") == [Rejected("l", "halted")]
    assert market.submit("m", "u", BUY, 1, 106, "ioc", is_market=True) == [Rejected("m", "halted")]
    assert market.submit_stop("s", "u", BUY, 1, 100, 105, "gtc", is_market=True) == [Rejected("s", "halted")]
    # And nothing traded, nothing triggered, nothing new is kept
    assert [o[0] for o in market.resting_orders()] == ["bid", "ask"]
    assert [s.order_id for s in market.stop_orders()] == ["st"]
    assert market.last_price == 100


def test_resting_orders_and_stops_stay_and_cancels_work() -> None:
    market = halted_market()
    assert market.cancel("bid") == Cancelled("bid", 5, "user")
    assert market.cancel("st", "expired") == Cancelled("st", 2, "expired")
    assert [o[0] for o in market.resting_orders()] == ["ask"]


def test_halt_and_resume_are_idempotent() -> None:
    market = halted_market()
    assert market.halt() == []
    assert market.resume() == [Resumed()]
    assert market.resume() == []


def test_resume_triggers_nothing_and_stops_wait_for_the_next_trade() -> None:
    # Given a halted market with a waiting buy stop at 101
    market = halted_market()
    # When trading resumes, Then nothing triggers by itself
    assert market.resume() == [Resumed()]
    assert market.stops.get("st") is not None
    # And the next trade at 101 triggers it as usual
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    assert events[1:] == [
        Fill("t", "ask", "seller", 101, 1, 0, 4),
        Triggered("st", 101),
        Fill("st", "ask", "seller", 101, 2, 0, 2),
    ]


def test_a_stop_placed_after_resume_is_checked_against_the_last_price_before_the_halt() -> None:
    market = halted_market()
    market.resume()
    events = market.submit_stop("s2", "u", BUY, 1, 102, 107, "gtc", is_market=True)
    assert events[-1] == Armed("s2", BUY, 102, 1)
    events = market.submit_stop("s3", "u", BUY, 1, 100, 105, "gtc", is_market=True)
    assert events[1] == Triggered("s3", 100)
