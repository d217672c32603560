"""Self-trade prevention applies to a triggered stop as to any incoming order."""

from __future__ import annotations

from exchange.domain.engine import BUY, SELL, Cancelled, Fill
from exchange.domain.market import Market
from exchange.domain.stops import Triggered


def test_a_triggered_stop_stops_at_its_own_users_resting_order() -> None:
    # Given alice's buy stop, an ask from bob at 101, then alice's own ask at 102, then carol's at 103
    market = Market("ACME", last_price=100)
    market.submit("bob", "bob", SELL, 2, 101, "gtc")
    market.submit("own", "alice", SELL, 5, 102, "gtc")
    market.submit("carol", "carol", SELL, 5, 103, "gtc")
    market.submit_stop("st", "alice", BUY, 4, 101, 106, "gtc", is_market=True)
    # When a trade at 101 triggers it
    events = market.submit("t", "dave", BUY, 1, 101, "ioc")
    # Then it takes what is ahead of alice's own order and its remainder is cancelled
    assert events[2:] == [
        Triggered("st", 101),
        Fill("st", "bob", "bob", 101, 1, 3, 0),
        Cancelled("st", 3, "self_trade_prevention"),
    ]
    assert market.book.order("own") == ("own", "alice", SELL, 102, 5)


def test_a_triggered_stop_limit_never_rests_after_a_self_trade_stop() -> None:
    market = Market("ACME", last_price=100)
    market.submit("a101", "bob", SELL, 1, 101, "gtc")
    market.submit("own", "alice", SELL, 1, 101, "gtc")
    market.submit_stop("sl", "alice", BUY, 2, 101, 101, "gtc", is_market=False)
    events = market.submit("t", "dave", BUY, 1, 101, "ioc")
    assert events[2:] == [Triggered("sl", 101), Cancelled("sl", 2, "self_trade_prevention")]
    assert "sl" not in market
