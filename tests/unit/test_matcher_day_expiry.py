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
