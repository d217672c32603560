"""Stop and stop-limit orders: when they trigger (at, above, not below the stop price; at arrival
against the last trade price) and what they become."""

from __future__ import annotations

import pytest

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, Rested
from exchange.domain.market import Market
from exchange.domain.stops import Armed, Triggered


@pytest.fixture
def market() -> Market:
    """ACME last traded at 100; asks 101 x5 (s1), 103 x5 (s2); bids 99 x5 (b1), 97 x5 (b2)."""
    m = Market("ACME", last_price=100)
    m.submit("s1", "seller", SELL, 5, 101, "gtc")
    m.submit("s2", "seller", SELL, 5, 103, "gtc")
    m.submit("b1", "buyer", BUY, 5, 99, "gtc")
    m.submit("b2", "buyer", BUY, 5, 97, "gtc")
    return m


def test_a_stop_waits_outside_the_book(market: Market) -> None:
    # When a buy stop at 101 arrives (last 100: not met)
    events = market.submit_stop("st", "trader", BUY, 2, 101, 106, "gtc", is_market=True)
    # Then it is accepted and waits: not in the book, not in the depth
    assert events == [Accepted("st"), Armed("st", BUY, 101, 2)]
    assert "st" in market and "st" not in market.book
    assert market.book.depth(10) == ([(99, 5, 1), (97, 5, 1)], [(101, 5, 1), (103, 5, 1)])


def test_a_buy_stop_triggers_on_a_trade_at_its_stop_price(market: Market) -> None:
    # Given a buy stop at 101 (market, bound 106)
    market.submit_stop("st", "trader", BUY, 2, 101, 106, "gtc", is_market=True)
    # When a trade executes at exactly 101
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # Then the stop triggers right after it and buys as a market order
    assert events == [
        Accepted("t"),
        Fill("t", "s1", "seller", 101, 1, 0, 4),
        Triggered("st", 101),
        Fill("st", "s1", "seller", 101, 2, 0, 2),
    ]
    assert "st" not in market and market.last_price == 101


def test_a_buy_stop_triggers_on_a_trade_above_its_stop_price(market: Market) -> None:
    # Given a buy stop at 102, and the asks at 101 gone
    market.submit_stop("st", "trader", BUY, 2, 102, 107, "gtc", is_market=True)
    market.cancel("s1")
    # When a trade executes at 103 (the price gapped over 102)
    events = market.submit("t", "taker", BUY, 1, 103, "ioc")
    # Then the stop triggers on it
    assert events[2:] == [Triggered("st", 103), Fill("st", "s2", "seller", 103, 2, 0, 2)]


def test_a_buy_stop_does_not_trigger_below_its_stop_price(market: Market) -> None:
    # Given a buy stop at 102
    market.submit_stop("st", "trader", BUY, 2, 102, 107, "gtc", is_market=True)
    # When trades execute at 101 and at 99
    up = market.submit("t1", "taker", BUY, 1, 101, "ioc")
    down = market.submit("t2", "taker", SELL, 1, 99, "ioc")
    # Then it keeps waiting
    assert not any(isinstance(e, Triggered) for e in up + down)
    assert market.stops.get("st") is not None


def test_a_sell_stop_triggers_at_and_below_but_not_above(market: Market) -> None:
    # Given sell stops at 99 and 98
    market.submit_stop("at", "trader", SELL, 1, 99, 94, "gtc", is_market=True)
    market.submit_stop("below", "trader", SELL, 1, 98, 93, "gtc", is_market=True)
    # When a trade executes at 101 (above both): nothing
    assert market.submit("t1", "taker", BUY, 1, 101, "ioc")[2:] == []
    # When a trade executes at 99: only the stop at 99 triggers
    events = market.submit("t2", "taker", SELL, 1, 99, "ioc")
    assert events[2:] == [Triggered("at", 99), Fill("at", "b1", "buyer", 99, 1, 0, 3)]
    # When trades execute at 97 (gap below 98): the stop at 98 triggers
    market.cancel("b1")
    events = market.submit("t3", "taker", SELL, 1, 97, "ioc")
    assert events[2:] == [Triggered("below", 97), Fill("below", "b2", "buyer", 97, 1, 0, 3)]


def test_a_stop_whose_condition_holds_at_arrival_triggers_at_once(market: Market) -> None:
    # When a buy stop at 100 arrives with the last trade at 100
    events = market.submit_stop("st", "trader", BUY, 2, 100, 105, "gtc", is_market=True)
    # Then it triggers at once (against the last trade price) and trades
    assert events == [Accepted("st"), Triggered("st", 100), Fill("st", "s1", "seller", 101, 2, 0, 3)]
    # And a sell stop above the last price triggers at once too
    events = market.submit_stop("ss", "trader", SELL, 1, 102, 97, "day", is_market=True)
    assert events == [Accepted("ss"), Triggered("ss", 101), Fill("ss", "b1", "buyer", 99, 1, 0, 4)]


def test_without_any_trade_yet_a_stop_waits() -> None:
    # Given a stock that never traded
    market = Market("NEW")
    # When any stop arrives, Then it waits
    assert market.submit_stop("a", "u", BUY, 1, 1, 2, "gtc", is_market=True)[-1] == Armed("a", BUY, 1, 1)
    assert market.submit_stop("b", "u", SELL, 1, 10**6, 1, "gtc", is_market=True)[-1] == Armed(
        "b", SELL, 10**6, 1
    )


def test_a_triggered_stop_limit_rests_at_its_limit_with_priority_from_its_trigger(market: Market) -> None:
    # Given a buy stop-limit at stop 101, limit 100, and a bid at 100 resting before the trigger
    market.submit_stop("sl", "trader", BUY, 3, 101, 100, "day", is_market=False)
    market.submit("early", "other", BUY, 1, 100, "gtc")
    # When a trade at 101 triggers it
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # Then it enters as a limit order at 100 and rests (its own tif), behind the earlier bid
    assert events[2:] == [Triggered("sl", 101), Rested("sl", BUY, 100, 3)]
    market.submit("later", "other", BUY, 1, 100, "gtc")
    at_100 = [o[0] for o in market.resting_orders() if o[3] == 100]
    assert at_100 == ["early", "sl", "later"]
    # And it is then an ordinary resting order: expiry works on it
    assert market.cancel("sl", "expired") == Cancelled("sl", 3, "expired")


def test_a_triggered_stop_limit_trades_up_to_its_limit(market: Market) -> None:
    # Given a buy stop-limit at stop 101, limit 103, for 8
    market.submit_stop("sl", "trader", BUY, 8, 101, 103, "gtc", is_market=False)
    # When a trade at 101 triggers it
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # Then it takes 101 and 103 and rests nothing (filled)
    assert events[2:] == [
        Triggered("sl", 101),
        Fill("sl", "s1", "seller", 101, 4, 4, 0),
        Fill("sl", "s2", "seller", 103, 4, 0, 1),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", "u", BUY, 1, 101, 105, "ioc", True), "gtc or day"),
        (("x", "u", BUY, 1, 101, 105, "fok", False), "gtc or day"),
        (("x", "u", BUY, 0, 101, 105, "gtc", True), "qty"),
        (("x", "u", BUY, 1, 0, 105, "gtc", True), "stop_price"),
        (("x", "u", 2, 1, 101, 105, "gtc", True), "side"),
        (("s1", "u", BUY, 1, 101, 105, "gtc", True), "already"),
    ],
)
def test_invalid_stops_are_refused_and_change_nothing(
    market: Market, args: tuple[object, ...], message: str
) -> None:
    # Given the market as it is
    before = Market.rebuild("ACME", market.resting_orders(), market.stop_orders(), market.last_price)
    # When an invalid stop arrives, Then ValueError and nothing changed
    with pytest.raises(ValueError, match=message):
        market.submit_stop(*args)  # type: ignore[arg-type]
    assert market == before


def test_a_plain_order_cannot_reuse_the_id_of_a_waiting_stop(market: Market) -> None:
    market.submit_stop("st", "trader", BUY, 2, 102, 107, "gtc", is_market=True)
    with pytest.raises(ValueError, match="already waiting"):
        market.submit("st", "trader", BUY, 1, 90, "gtc")
