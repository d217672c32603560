"""A day order's trading day ends at the close, also for an order the matcher takes after it."""

from __future__ import annotations

import dataclasses

from exchange.usecases.matching import Matcher, Message
from tests.unit.test_matcher_flow import SYM, market

PLACED, TAKEN = 1_764_633_540_000, 1_764_633_660_000  # 2025-12-01 23:59:00 and 2025-12-02 00:01:00 UTC


def test_a_day_order_taken_after_its_trading_day_closed_expires_without_trading() -> None:
    # Given a day buy placed before the close but taken by the matcher after it (a lagging queue),
    # and an ask it would cross
    store, buy = market(1)
    store.order_items["b"] = dataclasses.replace(buy, tif="day", created_at=PLACED, updated_at=PLACED)

    # When the matcher takes it
    Matcher(store, clock=lambda: TAKEN).process(SYM, [Message("new", SYM, "b", "buyer")])

    # Then it expired with its reservation back and did not trade; the ask still rests
    b = store.order_items["b"]
    assert (b.status, b.cancel_reason, b.filled_quantity, b.reserved_cash) == ("expired", "expired", 0, 0)
    assert (store.cash["buyer"].available, store.cash["buyer"].reserved) == (10_000 * 1, 0)
    assert store.trades == {} and store.order_items["s0"].status == "open"
    types = [e["type"] for w in store.written_books for e in w.events if e["channel"] == "user:buyer"]
    assert types == ["ORDER_ACCEPTED", "ORDER_EXPIRED"]


def test_a_day_order_taken_on_its_own_trading_day_trades() -> None:
    store, buy = market(1)
    store.order_items["b"] = dataclasses.replace(buy, tif="day", created_at=PLACED, updated_at=PLACED)
    Matcher(store, clock=lambda: PLACED + 30_000).process(SYM, [Message("new", SYM, "b", "buyer")])
    assert store.order_items["b"].status == "filled" and len(store.trades) == 1


def test_a_resting_day_order_of_a_closed_day_is_expired_not_filled_when_an_order_reaches_it() -> None:
    # Given a day ask of yesterday still resting (its expiry message not sequenced yet) and, behind
    # it, today's gtc ask at the same price
    store, buy = market(2)
    s0 = store.order_items["s0"]
    store.order_items["s0"] = dataclasses.replace(s0, tif="day", created_at=PLACED, updated_at=PLACED)
    store.order_items["b"] = dataclasses.replace(
        buy, quantity=1, remaining_quantity=1, reserved_cash=10_000, created_at=TAKEN
    )
    store.cash["buyer"].reserved = 10_000

    # When today's buy of 1 arrives
    Matcher(store, clock=lambda: TAKEN).process(SYM, [Message("new", SYM, "b", "buyer")])

    # Then yesterday's ask expired untraded, its shares back, and the buy took today's ask
    s0 = store.order_items["s0"]
    assert (s0.status, s0.cancel_reason, s0.filled_quantity, s0.reserved_quantity) == (
        "expired",
        "expired",
        0,
        0,
    )
    assert store.holding_items[("u0", SYM)].available == 1 and store.holding_items[("u0", SYM)].reserved == 0
    assert store.order_items["s1"].status == "filled" and store.order_items["b"].status == "filled"
    assert [t.sell_order_id for t in store.trades.values()] == ["s1"]
    assert store.books[SYM].asks == [] and store.cash["u0"].available == 0
