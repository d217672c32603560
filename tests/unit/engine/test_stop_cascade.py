"""The order in which triggered stops enter the book: one trade triggering several, one incoming
order's several trades, cascades (a triggered order's trades trigger more), all before the next
input."""

from __future__ import annotations

from exchange.domain.engine import BUY, SELL, Accepted, Fill, Rested
from exchange.domain.market import Market, by_order
from exchange.domain.stops import Triggered


def asks(market: Market, *levels: tuple[int, int]) -> None:
    for i, (price, qty) in enumerate(levels):
        market.submit(f"ask{price}", f"seller{i}", SELL, qty, price, "gtc")


def test_stops_triggered_by_one_trade_enter_by_stop_price_then_arrival() -> None:
    # Given asks deep enough, last 100, and buy stops: 102 (first to arrive), 101, 101 again
    market = Market("ACME", last_price=100)
    asks(market, (102, 100))
    market.submit_stop("s102", "a", BUY, 1, 102, 110, "gtc", is_market=True)
    market.submit_stop("s101-first", "b", BUY, 1, 101, 110, "gtc", is_market=True)
    market.submit_stop("s101-second", "c", BUY, 1, 101, 110, "gtc", is_market=True)
    # When one trade at 102 meets all three
    events = market.submit("t", "taker", BUY, 1, 102, "ioc")
    # Then they enter lowest stop price first, then by arrival, each right after the other
    triggered = [e.order_id for e in events if isinstance(e, Triggered)]
    assert triggered == ["s101-first", "s101-second", "s102"]
    assert [type(e).__name__ for e in events] == [
        "Accepted", "Fill", "Triggered", "Fill", "Triggered", "Fill", "Triggered", "Fill",
    ]  # fmt: skip


def test_sell_stops_triggered_by_one_trade_enter_highest_stop_first() -> None:
    market = Market("ACME", last_price=100)
    market.submit("bid", "buyer", BUY, 100, 97, "gtc")
    market.submit_stop("s98", "a", SELL, 1, 98, 90, "gtc", is_market=True)
    market.submit_stop("s99", "b", SELL, 1, 99, 90, "gtc", is_market=True)
    events = market.submit("t", "taker", SELL, 1, 97, "ioc")
    assert [e.order_id for e in events if isinstance(e, Triggered)] == ["s99", "s98"]


def test_stops_triggered_by_several_trades_of_one_order_enter_in_trade_order() -> None:
    # Given asks at 101 and 103, buy stops at 103 (arrived first) and 101
    market = Market("ACME", last_price=100)
    asks(market, (101, 1), (103, 10))
    market.submit_stop("s103", "a", BUY, 1, 103, 110, "gtc", is_market=True)
    market.submit_stop("s101", "b", BUY, 1, 101, 110, "gtc", is_market=True)
    # When one order trades at 101 then 103
    events = market.submit("t", "taker", BUY, 2, 103, "ioc")
    # Then the stops enter after the whole order, the one its first trade triggered first
    assert events[:3] == [
        Accepted("t"),
        Fill("t", "ask101", "seller0", 101, 1, 1, 0),
        Fill("t", "ask103", "seller1", 103, 1, 0, 9),
    ]
    assert events[3:] == [
        Triggered("s101", 101),
        Fill("s101", "ask103", "seller1", 103, 1, 0, 8),
        Triggered("s103", 103),
        Fill("s103", "ask103", "seller1", 103, 1, 0, 7),
    ]


def test_a_cascade_runs_in_the_same_input_in_trigger_order() -> None:
    # Given asks 101, 102, 103 (1 each) and 104 x10; stops: A at 101, B at 102 (A's trade triggers
    # it), C at 101 (triggered with A, so entering before B), D at 104 (B's or C's trade)
    market = Market("ACME", last_price=100)
    asks(market, (101, 1), (102, 1), (103, 1), (104, 10))
    market.submit_stop("A", "a", BUY, 1, 101, 110, "gtc", is_market=True)
    market.submit_stop("B", "b", BUY, 1, 102, 110, "gtc", is_market=True)
    market.submit_stop("C", "c", BUY, 1, 101, 110, "gtc", is_market=True)
    market.submit_stop("D", "d", BUY, 1, 104, 110, "gtc", is_market=True)
    # When a trade at 101 happens
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # Then: A (trades 102 -> triggers B), C (trades 103), B (trades 104 -> triggers D), D
    flow = [(type(e).__name__, e.order_id if isinstance(e, Triggered) else getattr(e, "price", None))
            for e in events[2:]]  # fmt: skip
    assert flow == [
        ("Triggered", "A"), ("Fill", 102),
        ("Triggered", "C"), ("Fill", 103),
        ("Triggered", "B"), ("Fill", 104),
        ("Triggered", "D"), ("Fill", 104),
    ]  # fmt: skip
    assert len(market.stops) == 0 and market.last_price == 104


def test_the_cascade_completes_before_the_next_input() -> None:
    # Given a stop-limit that will rest when triggered
    market = Market("ACME", last_price=100)
    asks(market, (101, 1))
    market.submit_stop("sl", "a", BUY, 2, 101, 100, "gtc", is_market=False)
    # When the trade that triggers it happens, Then it rests within the same input's events
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    assert events[-2:] == [Triggered("sl", 101), Rested("sl", BUY, 100, 2)]
    # And the next input finds it in the book, as maker
    later = market.submit("s", "seller", SELL, 2, 100, "ioc")
    assert later[1] == Fill("s", "sl", "a", 100, 2, 0, 0)


def test_a_sell_stop_triggered_by_a_buy_order_trading_below_the_last_price() -> None:
    # Given last 100, an ask resting at 95 and a sell stop at 96
    market = Market("ACME", last_price=100)
    market.submit("cheap", "seller", SELL, 1, 95, "gtc")
    market.submit("bid", "bidder", BUY, 5, 90, "gtc")
    market.submit_stop("ss", "a", SELL, 1, 96, 90, "gtc", is_market=True)
    # When a buy takes the ask at 95
    events = market.submit("t", "taker", BUY, 1, 95, "ioc")
    # Then the sell stop triggers and sells into the bid
    assert events[2:] == [Triggered("ss", 95), Fill("ss", "bid", "bidder", 90, 1, 0, 4)]


def test_by_order_cuts_an_inputs_events_per_incoming_order() -> None:
    # Given a trade that triggers a stop which rests
    market = Market("ACME", last_price=100)
    asks(market, (101, 1))
    market.submit_stop("sl", "a", BUY, 2, 101, 100, "gtc", is_market=False)
    events = market.submit("t", "taker", BUY, 1, 101, "ioc")
    # When its events are cut per order, Then the input's order first, then the triggered one
    assert by_order(events) == [
        ("t", [Accepted("t"), Fill("t", "ask101", "seller0", 101, 1, 0, 0)]),
        ("sl", [Triggered("sl", 101), Rested("sl", BUY, 100, 2)]),
    ]
    assert by_order([]) == []


def test_a_sweep_triggers_on_its_first_fill_not_only_its_last() -> None:
    # Given last 100, asks at 95 and 101, a bid at 90, and a sell stop at 96
    market = Market("ACME", last_price=100)
    market.submit("cheap", "seller", SELL, 1, 95, "gtc")
    market.submit("dear", "seller", SELL, 1, 101, "gtc")
    market.submit("bid", "bidder", BUY, 5, 90, "gtc")
    market.submit_stop("ss", "a", SELL, 1, 96, 90, "gtc", is_market=True)
    # When one buy takes 95 then 101 (its last fill is above the stop, its first at or below)
    events = market.submit("t", "taker", BUY, 2, 101, "ioc")
    # Then the first fill's price triggers the sell stop
    assert events[3:] == [Triggered("ss", 95), Fill("ss", "bid", "bidder", 90, 1, 0, 4)]
    assert market.last_price == 90


def test_the_first_trade_of_a_stock_triggers_buy_stops_before_sell_stops() -> None:
    # Given a stock that never traded, with a sell stop (arrived first) and a buy stop both at 100
    market = Market("NEW")
    market.submit("ask", "seller", SELL, 5, 100, "gtc")
    market.submit("bid", "buyer", BUY, 5, 99, "gtc")
    market.submit_stop("sell-stop", "a", SELL, 1, 100, 95, "gtc", is_market=True)
    market.submit_stop("buy-stop", "b", BUY, 1, 100, 105, "gtc", is_market=True)
    # When the first trade executes at 100 (meeting both conditions)
    events = market.submit("t", "taker", BUY, 1, 100, "ioc")
    # Then the buy side's stop enters first, then the sell side's
    assert [e.order_id for e in events if isinstance(e, Triggered)] == ["buy-stop", "sell-stop"]
