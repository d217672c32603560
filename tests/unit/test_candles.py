"""Candles in the pure domain: folding trades one commit at a time gives exactly the candles of all
the trades (whatever the clock does between commits), and two parts of a history combine."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exchange.domain.candles import (
    INTERVALS,
    Candle,
    CandleKey,
    TradePoint,
    add_trade,
    combine,
    from_trades,
    in_window,
    keys_at,
    window,
)

BASE = 1_767_225_600_000  # 2026-01-01T00:00Z


def naive(trades: list[TradePoint], interval: str) -> list[tuple[int, int, int, int, int, int]]:
    """The definition, written out: per interval start, trades in sequence order."""
    step = INTERVALS[interval]
    out = []
    for start in sorted({t.executed_at // step * step for t in trades}):
        inside = sorted((t for t in trades if t.executed_at // step * step == start), key=lambda t: t.seq)
        prices = [t.price for t in inside]
        out.append((start, prices[0], max(prices), min(prices), prices[-1], sum(t.quantity for t in inside)))
    return out


def ohlcv(candles: list[Candle]) -> list[tuple[int, int, int, int, int, int]]:
    return [(c.start, c.open, c.high, c.low, c.close, c.volume) for c in candles]


# a history: commits, each at one instant (the clock may step back), each with 1..4 trades
commits = st.lists(
    st.tuples(
        st.integers(-2 * 86_400_000, 3 * 86_400_000),
        st.lists(st.tuples(st.integers(1, 500), st.integers(1, 50)), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=25,
)


def history(cs: list[tuple[int, list[tuple[int, int]]]]) -> list[list[TradePoint]]:
    seq, out = 0, []
    for at, fills in cs:
        batch = []
        for price, qty in fills:
            seq += 1
            batch.append(TradePoint(seq, BASE + at, price, qty))
        out.append(batch)
    return out


@given(commits)
def test_folding_commit_by_commit_equals_the_candles_of_all_trades(cs: list) -> None:
    # Given a history of commits, folded as the matcher does: the candles at the commit's instant
    stored: dict[CandleKey, Candle] = {}
    batches = history(cs)
    for batch in batches:
        for t in batch:
            for key in keys_at(t.executed_at):
                stored[key] = add_trade(stored.get(key), key[0], t)

    # Then every interval's stored candles are the ones all the trades make
    trades = [t for b in batches for t in b]
    for interval in INTERVALS:
        mine = sorted((c for (iv, _), c in stored.items() if iv == interval), key=lambda c: c.start)
        assert ohlcv(mine) == naive(trades, interval) == ohlcv(from_trades(trades, interval))


@given(commits, st.integers(0, 100), st.sampled_from(list(INTERVALS)))
def test_two_parts_of_a_history_combine(cs: list, cut: int, interval: str) -> None:
    trades = [t for b in history(cs) for t in b]
    k = cut % (len(trades) + 1)
    combined = combine(from_trades(trades[:k], interval), from_trades(trades[k:], interval))
    assert ohlcv(combined) == naive(trades, interval)
    assert [(c.first_seq, c.last_seq) for c in combined] == [
        (c.first_seq, c.last_seq) for c in from_trades(trades, interval)
    ]


def test_the_window_is_every_interval_overlapping_from_to() -> None:
    m = 60_000
    assert window("1m", BASE + 30_000, BASE + 3 * m) == (BASE, BASE + 3 * m)
    assert window("1m", BASE + 3 * m, BASE) is None
    candles = from_trades([TradePoint(i + 1, BASE + i * m, 100, 1) for i in range(5)], "1m")
    assert [c.start for c in in_window(candles, "1m", BASE + m + 1, BASE + 3 * m)] == [
        BASE + m,
        BASE + 2 * m,
        BASE + 3 * m,
    ]


def test_a_trade_out_of_order_is_refused() -> None:
    c = add_trade(None, "1m", TradePoint(5, BASE, 100, 1))
    for bad in (TradePoint(5, BASE, 100, 1), TradePoint(6, BASE + 60_000, 100, 1)):
        try:
            add_trade(c, "1m", bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")
