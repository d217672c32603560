"""Candles (OHLCV per interval), pure: folded trade by trade in the matcher's commit, and the same
rule applied to a list of trades (the reference the stored candles must equal; the backfill).

A candle is always its WHOLE interval ``[start, start + step)``, ``start`` = ``executed_at // step *
step`` (UTC, epoch-aligned): open = the price of its first trade by trade sequence, close = that of
its last, high/low the extremes, volume the sum of quantities. Ordering by sequence, not time,
keeps the rule exact even if a later commit carries an earlier clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

INTERVALS: dict[str, int] = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000}


@dataclass(frozen=True)
class TradePoint:
    """What a candle needs of one trade."""

    seq: int
    executed_at: int
    price: int
    quantity: int


@dataclass(frozen=True)
class Candle:
    interval: str
    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    first_seq: int  # the sequence of its first and last trade
    last_seq: int


CandleKey = tuple[str, int]  # (interval, start)


def bucket_start(at: int, interval: str) -> int:
    step = INTERVALS[interval]
    return at // step * step


def keys_at(at: int) -> list[CandleKey]:
    """The candle of every interval that a trade executed at ``at`` goes into."""
    return [(iv, bucket_start(at, iv)) for iv in INTERVALS]


def add_trade(candle: Candle | None, interval: str, t: TradePoint) -> Candle:
    """``candle`` (its bucket's, None if it has no trade yet) with one more trade, which must come
    after every trade already in it (by sequence)."""
    start = bucket_start(t.executed_at, interval)
    if candle is None:
        return Candle(interval, start, t.price, t.price, t.price, t.price, t.quantity, t.seq, t.seq)
    if (candle.interval, candle.start) != (interval, start):
        raise ValueError(f"trade {t.seq} at {t.executed_at} is not in candle {interval}@{candle.start}")
    if t.seq <= candle.last_seq:
        raise ValueError(f"trade {t.seq} is not after the candle's last trade {candle.last_seq}")
    return dataclasses.replace(
        candle,
        high=max(candle.high, t.price),
        low=min(candle.low, t.price),
        close=t.price,
        volume=candle.volume + t.quantity,
        last_seq=t.seq,
    )


def from_trades(trades: Iterable[TradePoint], interval: str) -> list[Candle]:
    """Every candle of ``interval`` that these trades make, oldest first."""
    out: dict[int, Candle] = {}
    for t in sorted(trades, key=lambda t: t.seq):
        start = bucket_start(t.executed_at, interval)
        out[start] = add_trade(out.get(start), interval, t)
    return [out[s] for s in sorted(out)]


def merge(earlier: Candle, later: Candle) -> Candle:
    """One interval's candle from two parts whose trades do not interleave: ``earlier``'s all come
    before ``later``'s (the backfilled trades before the matcher's first aggregated one)."""
    same = (earlier.interval, earlier.start) == (later.interval, later.start)
    if not same or earlier.last_seq >= later.first_seq:
        raise ValueError("only consecutive parts of one interval merge")
    return dataclasses.replace(
        later,
        open=earlier.open,
        high=max(earlier.high, later.high),
        low=min(earlier.low, later.low),
        volume=earlier.volume + later.volume,
        first_seq=earlier.first_seq,
    )


def combine(earlier: list[Candle], later: list[Candle]) -> list[Candle]:
    """Two candle lists of one interval (oldest first) as one: ``earlier``'s trades all precede
    ``later``'s; a start in both is merged."""
    by_start = {c.start: c for c in earlier}
    for c in later:
        e = by_start.get(c.start)
        by_start[c.start] = merge(e, c) if e else c
    return [by_start[s] for s in sorted(by_start)]


def window(interval: str, from_ms: int, to_ms: int) -> tuple[int, int] | None:
    """The starts of the candles asked for by ``from``/``to``: every interval that overlaps
    ``[from, to]`` (the one holding ``from`` included, whole). None if there is none."""
    lo, hi = max(0, bucket_start(from_ms, interval)), bucket_start(to_ms, interval)
    if to_ms < from_ms or hi < 0:
        return None
    return lo, hi


def in_window(candles: Iterable[Candle], interval: str, from_ms: int, to_ms: int) -> list[Candle]:
    """The reference selection: the candles of ``interval`` that ``window`` names."""
    w = window(interval, from_ms, to_ms)
    if w is None:
        return []
    return [c for c in candles if c.interval == interval and w[0] <= c.start <= w[1]]
