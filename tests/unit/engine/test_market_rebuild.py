"""Market.rebuild: the stored open orders, untriggered stops, last price and status make the same
market; contradictions are refused."""

from __future__ import annotations

import pytest

from exchange.domain.engine import BUY, SELL
from exchange.domain.market import Market
from exchange.domain.stops import StopOrder, Triggered


def test_rebuild_gives_an_equal_market_that_triggers_the_same() -> None:
    # Given a market with resting orders, stops on both sides (two at one price) and a last price
    market = Market("ACME", last_price=100)
    market.submit("a", "s", SELL, 10, 102, "gtc")
    market.submit("b", "b", BUY, 10, 98, "gtc")
    market.submit_stop("x", "u", BUY, 1, 102, 107, "gtc", is_market=True)
    market.submit_stop("y", "u", BUY, 1, 101, 106, "day", is_market=False)
    market.submit_stop("z", "v", BUY, 1, 101, 106, "gtc", is_market=True)
    market.submit_stop("w", "v", SELL, 1, 99, 94, "gtc", is_market=True)
    # When it is rebuilt from its state
    copy = Market.rebuild("ACME", market.resting_orders(), market.stop_orders(), 100, version=3)
    # Then it is equal, and the same trade triggers the same stops in the same order
    assert copy == market and copy.version == 3
    assert [s.order_id for s in copy.stop_orders()] == ["y", "z", "x", "w"]
    assert copy.submit("t", "t", BUY, 1, 102, "ioc") == market.submit("t", "t", BUY, 1, 102, "ioc")
    assert copy == market


def test_rebuild_refuses_a_stop_that_should_have_triggered() -> None:
    stop = StopOrder("x", "u", BUY, 1, 100, 105, "gtc", True)
    with pytest.raises(ValueError, match="should have triggered"):
        Market.rebuild("ACME", [], [stop], last_price=100)
    # without a last price it simply waits
    assert len(Market.rebuild("ACME", [], [stop], last_price=None).stops) == 1


def test_rebuild_refuses_an_id_both_resting_and_waiting() -> None:
    with pytest.raises(ValueError, match="both resting"):
        Market.rebuild(
            "ACME", [("x", "u", SELL, 101, 1)], [StopOrder("x", "u", BUY, 1, 105, 110, "gtc", True)], 100
        )


def test_rebuild_refuses_a_stop_with_a_bad_time_in_force() -> None:
    with pytest.raises(ValueError, match="time in force"):
        Market.rebuild("ACME", [], [StopOrder("x", "u", BUY, 1, 105, 110, "ioc", True)], 100)


def test_a_halted_market_rebuilds_halted() -> None:
    market = Market.rebuild("ACME", [], [], 100, halted=True)
    assert market.submit("n", "u", BUY, 1, 100, "gtc")[0].__class__.__name__ == "Rejected"
    assert not any(isinstance(e, Triggered) for e in market.resume())
