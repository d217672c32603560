"""The sequenced-input processor and the replay core: the contract's log entries in, events out;
a whole log replayed and compared with stored trades and book."""

from __future__ import annotations

import pytest

from exchange.domain.engine import BUY, SELL, Accepted, Cancelled, Fill, Rested
from exchange.domain.market import Halted, Market, Rejected, Resumed
from exchange.domain.replay import IDENTICAL, LogEntry, LogOrder, ReplayTrade, compare, process, replay
from exchange.domain.stops import Armed, StopOrder, Triggered


def new(seq: int, oid: str, user: str, side: str, type_: str, tif: str, qty: int, **prices: int) -> LogEntry:
    return LogEntry(seq, "new", order=LogOrder(oid, user, side, type_, tif, qty, **prices))


LOG = [
    new(1, "s1", "alice", "sell", "limit", "gtc", 5, limit_price=10_100),
    new(2, "st", "carol", "buy", "stop", "gtc", 2, stop_price=10_100, price_bound=10_605),
    new(3, "b1", "bob", "buy", "limit", "ioc", 1, limit_price=10_100),
    LogEntry(4, "halt"),
    new(5, "late", "bob", "buy", "limit", "gtc", 1, limit_price=10_100),
    LogEntry(6, "cancel", order_id="nobody"),
    LogEntry(7, "resume"),
    new(8, "sl", "dave", "sell", "stop_limit", "day", 3, stop_price=10_000, limit_price=9_900),
    new(9, "m1", "erin", "buy", "market", "ioc", 1, price_bound=10_605),
    LogEntry(10, "expire", order_id="sl"),
]
TRADES = [
    ReplayTrade(1, "b1", "s1", 10_100, 1, "buy"),
    ReplayTrade(2, "st", "s1", 10_100, 2, "buy"),
    ReplayTrade(3, "m1", "s1", 10_100, 1, "buy"),
]

STRAY_STOP = StopOrder("zz", "u", BUY, 1, 20_000, 21_000, "gtc", True)


def test_process_turns_each_entry_into_the_markets_events() -> None:
    market = Market("ACME")
    out = [process(market, e) for e in LOG]
    assert out[0] == [Accepted("s1"), Rested("s1", SELL, 10_100, 5)]
    assert out[1] == [Accepted("st"), Armed("st", BUY, 10_100, 2)]
    assert out[2] == [
        Accepted("b1"),
        Fill("b1", "s1", "alice", 10_100, 1, 0, 4),
        Triggered("st", 10_100),
        Fill("st", "s1", "alice", 10_100, 2, 0, 2),
    ]
    assert out[3:7] == [[Halted()], [Rejected("late", "halted")], [], [Resumed()]]
    assert out[7] == [Accepted("sl"), Armed("sl", SELL, 10_000, 3)]
    assert out[9] == [Cancelled("sl", 3, "expired")]


def test_replay_of_a_whole_log_is_identical_to_what_was_stored() -> None:
    trades, market = replay(LOG, "ACME")
    assert trades == TRADES
    assert list(market.resting_orders()) == [("s1", "alice", SELL, 10_100, 1)]
    assert compare((trades, market), TRADES, [("s1", "alice", SELL, 10_100, 1)], []) == IDENTICAL


@pytest.mark.parametrize(
    ("trades", "resting", "stops", "difference"),
    [
        (TRADES[:2], [("s1", "alice", SELL, 10_100, 1)], None,
         "trade #3: replayed (3, 'm1', 's1', 10100, 1, 'buy'), stored none"),
        ([*TRADES[:2], TRADES[2]._replace(price=10_200)], [("s1", "alice", SELL, 10_100, 1)], None,
         "trade #3: replayed (3, 'm1', 's1', 10100, 1, 'buy'), stored (3, 'm1', 's1', 10200, 1, 'buy')"),
        (TRADES, [("s1", "alice", SELL, 10_100, 2)], None,
         "resting order #1 (priority order): replayed ('s1', 'alice', 1, 10100, 1), "
         "stored ('s1', 'alice', 1, 10100, 2)"),
        (TRADES, [], None,
         "resting order #1 (priority order): replayed ('s1', 'alice', 1, 10100, 1), stored none"),
        (TRADES, [("s1", "alice", SELL, 10_100, 1)], [STRAY_STOP],
         "stop order #1 (priority order): replayed none, "
         "stored ('zz', 'u', 0, 1, 20000, 21000, 'gtc', True)"),
        (TRADES, [("x", "u", BUY, 10_200, 1), ("s1", "alice", SELL, 10_100, 1)], None,
         "the stored book is not a valid book: rebuilt book is crossed: bid 10200 >= ask 10100"),
    ],
)  # fmt: skip
def test_compare_names_the_first_difference(
    trades: list[ReplayTrade],
    resting: list[tuple[object, ...]],
    stops: list[StopOrder] | None,
    difference: str,
) -> None:
    assert compare(replay(LOG, "ACME"), trades, resting, stops) == difference


def test_replay_refuses_a_log_with_a_gap_or_out_of_order() -> None:
    with pytest.raises(ValueError, match="missing or out of order"):
        replay([LOG[0], LOG[2]])
    with pytest.raises(ValueError, match="missing or out of order"):
        replay([LOG[1], LOG[0]])


def test_log_entries_from_the_contracts_json() -> None:
    entry = LogEntry.from_view(
        {
            "seq": 8, "kind": "new", "at": "2026-12-02T00:00:00.000Z",
            "order": {
                "id": "sl", "user_id": "dave", "side": "sell", "type": "stop_limit", "time_in_force": "day",
                "quantity": 3, "limit_price": "99.00", "stop_price": "100.00", "price_bound": None,
            },
        }
    )  # fmt: skip
    assert entry == LOG[7]
    assert LogEntry.from_view({"seq": 10, "kind": "expire", "order_id": "sl"}) == LOG[9]
    assert LogEntry.from_view({"seq": 4, "kind": "halt"}) == LOG[3]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (LogEntry(1, "new"), "without its parameters"),
        (LogEntry(1, "cancel"), "without an order_id"),
        (LogEntry(1, "explode"), "unknown kind"),
        (new(1, "x", "u", "up", "limit", "gtc", 1, limit_price=1), "bad side"),
        (new(1, "x", "u", "buy", "iceberg", "gtc", 1, limit_price=1), "unknown order type"),
        (new(1, "x", "u", "buy", "limit", "gtc", 1), "without its price"),
        (new(1, "x", "u", "buy", "stop", "gtc", 1, price_bound=5), "without its price"),
    ],
)
def test_entries_that_make_no_sense_are_refused(entry: LogEntry, message: str) -> None:
    market = Market("ACME")
    with pytest.raises(ValueError, match=message):
        process(market, entry)
    assert market == Market("ACME")
