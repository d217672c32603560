"""Candles through the real matcher commit and the real read (moto in-process): what the api
returns equals what all the stored trades imply, for any history, interval and range; the read
examines only the candles it returns; an older stock (trades, no candles) is backfilled once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange import keys
from exchange.domain.candles import INTERVALS
from exchange.domain.money import format_cents
from exchange.ids import iso_ms
from exchange.usecases.market import Market
from exchange.usecases.matching import Matcher, Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange, examined

BASE = 1_767_225_600_000  # 2026-01-01T00:00Z
DAY = 86_400_000


class Clock:
    def __init__(self) -> None:
        self.now = BASE

    def __call__(self) -> int:
        return self.now


def _symbol(ex: Exchange) -> str:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:7])
    ex.admin.list_stock(symbol, symbol, 10_000, 1)
    return symbol


def _user(ex: Exchange) -> str:
    return str(ex.accounts.register(f"u{uuid.uuid4().hex[:10]}@example.com", "password123", None)["id"])


def _place(ex: Exchange, user: str, symbol: str, side: str, qty: int, price: int) -> dict[str, Any]:
    order, _ = ex.orders.place(user, OrderRequest(symbol, side, "limit", qty, price, "gtc", None))
    return order


def _match(matcher: Matcher, *orders: dict[str, Any]) -> None:
    matcher.process(orders[0]["symbol"], [Message("new", o["symbol"], o["id"], o["user_id"]) for o in orders])


def trade_at(
    ex: Exchange, matcher: Matcher, sym: str, seller: str, buyer: str, fills: list[tuple[int, int]]
) -> None:
    """Asks at each (price, qty), rested; then one buy taking them all: one commit, len(fills) trades."""
    asks = [_place(ex, seller, sym, "sell", q, p) for p, q in fills]
    clock = matcher.clock
    assert isinstance(clock, Clock)
    at, clock.now = clock.now, BASE - 10 * DAY  # the asks rest at another instant: no trade there
    _match(matcher, *asks)
    clock.now = at
    _match(matcher, _place(ex, buyer, sym, "buy", sum(q for _, q in fills), max(p for p, _ in fills)))


def expected(ex: Exchange, sym: str, interval: str, from_ms: int, to_ms: int) -> list[tuple[Any, ...]]:
    """The candles all the stored trades imply (whole intervals overlapping [from, to])."""
    step = INTERVALS[interval]
    trades = sorted(
        ex.store.table.query_all("pk = :p", {":p": keys.trades(sym)}, consistent=True),
        key=lambda t: int(t["seq"]),
    )
    buckets: dict[int, list[dict[str, Any]]] = {}
    for t in trades:
        buckets.setdefault(int(t["executed_at"]) // step * step, []).append(t)
    out = []
    for start in sorted(buckets):
        if not (from_ms // step * step <= start <= to_ms) or to_ms < from_ms:
            continue
        prices = [int(t["price"]) for t in buckets[start]]
        out.append(
            (
                iso_ms(start),
                *(format_cents(p) for p in (prices[0], max(prices), min(prices), prices[-1])),
                sum(int(t["quantity"]) for t in buckets[start]),
            )
        )
    return out


def read(
    ex: Exchange, sym: str, interval: str, from_ms: int | None, to_ms: int | None
) -> list[tuple[Any, ...]]:
    return [
        (c["start"], c["open"], c["high"], c["low"], c["close"], c["volume"])
        for c in Market(ex.store).candles(sym, interval, from_ms, to_ms)
    ]


history = st.lists(
    st.tuples(
        st.integers(-DAY, 2 * DAY),  # the commit's clock, relative to BASE (it may step back)
        st.lists(st.tuples(st.integers(9_000, 11_000), st.integers(1, 20)), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=6,
)
ranges = st.tuples(st.sampled_from(list(INTERVALS)), st.integers(-2 * DAY, 3 * DAY), st.integers(0, 3 * DAY))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history, st.lists(ranges, min_size=1, max_size=4))
def test_candles_read_equal_the_candles_of_all_trades(exchange: Exchange, commits: list, asks: list) -> None:
    # Given a stock that traded in commits at various instants, through the real matcher commit
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10_000)
    matcher = Matcher(ex.matcher_store, clock=Clock(), sleep=lambda s: None)
    for at, fills in commits:
        matcher.clock.now = BASE + at  # type: ignore[attr-defined]
        trade_at(ex, matcher, sym, seller, buyer, fills)

    # When candles are read for any interval and range, Then they are what all the trades imply
    for interval, start, length in asks:
        lo = BASE + start
        assert read(ex, sym, interval, lo, lo + length) == expected(ex, sym, interval, lo, lo + length)


def test_the_read_examines_only_the_candles_it_returns(exchange: Exchange) -> None:
    # Given 24 trades over 12 minutes
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10_000)
    matcher = Matcher(ex.matcher_store, clock=Clock(), sleep=lambda s: None)
    for i in range(12):
        matcher.clock.now = BASE + i * 60_000 + 1_000  # type: ignore[attr-defined]
        trade_at(ex, matcher, sym, seller, buyer, [(10_000 + i, 1), (10_001 + i, 2)])

    # When the 1m candles from minute 10 to 12 (two of them traded) and the one 1h candle are read
    with examined(ex) as counts:
        three = read(ex, sym, "1m", BASE + 10 * 60_000, BASE + 12 * 60_000)
        hour = read(ex, sym, "1h", BASE, BASE + 1)

    # Then each Query examined exactly the candles it returned, not the stock's trades
    assert [c[4] for c in three] == ["100.11", "100.12"] and three == expected(
        ex, sym, "1m", BASE + 10 * 60_000, BASE + 12 * 60_000
    )
    assert hour == [(iso_ms(BASE), "100.00", "100.12", "100.00", "100.12", 36)]
    assert counts == [2, 1]


def _make_older(ex: Exchange, sym: str) -> None:
    """As a stock stored before candles were kept: its trades, no candle items, no candles_from."""
    for interval in INTERVALS:
        for item in list(ex.store.table.query_all("pk = :p", {":p": keys.candles(sym, interval)})):
            ex.store.table.delete(item["pk"], item["sk"])
    ex.store.table.update(keys.stock(sym), keys.STOCK, "REMOVE candles_from")


@pytest.mark.parametrize("trades_after", [False, True])
def test_an_older_stock_is_backfilled_once(exchange: Exchange, trades_after: bool) -> None:
    # Given a stock with 4 trades stored before candles were kept (and, maybe, 3 after)
    ex = exchange
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10_000)
    matcher = Matcher(ex.matcher_store, clock=Clock(), sleep=lambda s: None)
    for i, price in enumerate((10_000, 10_300, 9_900, 10_100)):
        matcher.clock.now = BASE + i * 20_000  # type: ignore[attr-defined]
        trade_at(ex, matcher, sym, seller, buyer, [(price, 1)])
    _make_older(ex, sym)
    if trades_after:
        for i, price in enumerate((10_500, 9_800, 10_200)):
            matcher.clock.now = BASE + 50_000 + i * 20_000  # type: ignore[attr-defined]
            trade_at(ex, matcher, sym, seller, buyer, [(price, 2)])
        assert (ex.store.stock(sym) or {})["candles_from"] == 5

    # When its candles are read (twice)
    first = {iv: read(ex, sym, iv, BASE - DAY, BASE + DAY) for iv in INTERVALS}
    assert (ex.store.stock(sym) or {})["candles_backfilled"] == 4
    with examined(ex) as counts:
        again = read(ex, sym, "1d", BASE - DAY, BASE + DAY)

    # Then they are what all the trades imply, and the second read needed no trade
    for iv in INTERVALS:
        assert first[iv] == expected(ex, sym, iv, BASE - DAY, BASE + DAY), iv
    assert again == first["1d"] and len(again) == 1
    assert counts == [int(trades_after), 1]  # the matcher's candles, the backfilled ones: one day each
