"""Stop and stop-limit orders through the real place-order use case and the real matcher against
moto: the reservation fixed at placement, the trigger, the refund of the price improvement and of
the remainder, cascades (one trade's stops trigger more), cancels of waiting stops, halts, and
redelivery (a batch with a cascade again; a crash between the commits of a cascade split over two
transactions). Cash and shares are conserved throughout."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from exchange import book_codec
from exchange.adapters.matcher_store import DynamoMatcherStore
from exchange.domain.batch import BatchCommit
from exchange.domain.records import NON_FINAL
from exchange.usecases.matching import Matcher, Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange

CASH, SHARES, REF = 1_000_000, 100, 1_000


def _setup(ex: Exchange, n: int = 4) -> tuple[str, list[str]]:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:7])
    ex.admin.list_stock(symbol, symbol, REF, 1)
    users = []
    for _ in range(n):
        email = f"s{uuid.uuid4().hex[:10]}@example.com"
        uid = ex.accounts.register(email, "password123", None, cash=CASH)["id"]
        ex.admin.grant(uid, symbol, SHARES)
        users.append(uid)
    return symbol, users


def _place(
    ex: Exchange,
    user: str,
    symbol: str,
    side: str,
    qty: int,
    kind: str = "limit",
    *,
    price: int | None = None,
    stop: int | None = None,
    tif: str | None = None,
) -> dict[str, Any]:
    tif = tif or ("ioc" if kind == "market" else "gtc")
    order, _ = ex.orders.place(user, OrderRequest(symbol, side, kind, qty, price, tif, None, stop))
    return order


def _new(o: dict[str, Any]) -> Message:
    return Message("new", o["symbol"], o["id"], o["user_id"])


def _get(ex: Exchange, o: dict[str, Any]) -> dict[str, Any]:
    return ex.store.order(o["user_id"], o["id"])


def _conserved(ex: Exchange, symbol: str, users: list[str]) -> None:
    cash = shares = 0
    for u in users:
        c = ex.store.cash(u)
        h = ex.store.holding(u, symbol) or {"available": 0, "reserved": 0}
        assert min(c["available"], c["reserved"], h["available"], h["reserved"]) >= 0
        open_orders = [
            o for o in ex.store.orders(u, "all", None, 500, None).items if o["status"] in NON_FINAL
        ]
        assert c["reserved"] == sum(o["reserved_cash"] for o in open_orders)
        assert h["reserved"] == sum(o["reserved_quantity"] for o in open_orders)
        cash += c["available"] + c["reserved"]
        shares += h["available"] + h["reserved"]
    assert (cash, shares) == (CASH * len(users), SHARES * len(users))


def test_a_stop_buy_reserves_at_its_collar_triggers_fills_and_gets_the_improvement_back(
    exchange: Exchange,
) -> None:
    ex = exchange
    symbol, (seller, buyer, stopper, _) = _setup(ex)
    ask = _place(ex, seller, symbol, "sell", 5, price=1_010)
    ex.matcher.process(symbol, [_new(ask)])
    stop = _place(ex, stopper, symbol, "buy", 3, "stop", stop=1_005)
    assert (stop["price_bound"], stop["reserved_cash"]) == (1_055, 3 * 1_055)  # 1005 x 1.05 rounded down
    ex.matcher.process(symbol, [_new(stop)])
    waiting = _get(ex, stop)
    assert (waiting["status"], waiting.get("triggered_at"), waiting["reserved_cash"]) == ("open", None, 3_165)
    assert book_codec.levels(ex.store.book(symbol)) == ([], [[1_010, 5, 1]])  # not in the depth

    trigger = _place(ex, buyer, symbol, "buy", 1, price=1_010)
    ex.matcher.process(symbol, [_new(trigger)])
    done = _get(ex, stop)
    assert (done["status"], done["filled_quantity"], done["reserved_cash"]) == ("filled", 3, 0)
    assert done["triggered_at"] is not None and done["fill_cost"] == 3 * 1_010
    assert ex.store.cash(stopper) == {**ex.store.cash(stopper), "available": CASH - 3_030, "reserved": 0}
    events = book_codec.events(ex.store.book(symbol))
    mine = [(e["type"], e["data"]["status"]) for e in events if e["channel"] == f"user:{stopper}"]
    assert mine == [("ORDER_TRIGGERED", "open"), ("ORDER_FILLED", "filled")]
    triggered = next(e["data"] for e in events if e["type"] == "ORDER_TRIGGERED")
    assert triggered["stop_price"] == "10.05" and triggered["triggered_at"] is not None
    trades = [e["data"] for e in events if e["type"] == "TRADE_EXECUTED"]
    assert [(t["quantity"], t["price"], t["sequence"]) for t in trades] == [(1, "10.10", 1), (3, "10.10", 2)]
    _conserved(ex, symbol, [seller, buyer, stopper, _])


def test_a_cascade_is_one_unit_and_a_redelivery_changes_nothing(exchange: Exchange) -> None:
    ex = exchange
    symbol, (seller, buyer, a, b) = _setup(ex)
    asks = [_place(ex, seller, symbol, "sell", 2, price=p) for p in (1_010, 1_020, 1_030)]
    ex.matcher.process(symbol, [_new(o) for o in asks])
    # a triggers on the trade at 10.10 and buys at 10.20, which triggers b (a stop-limit at 10.25)
    stop_a = _place(ex, a, symbol, "buy", 2, "stop", stop=1_010)
    stop_b = _place(ex, b, symbol, "buy", 4, "stop_limit", stop=1_020, price=1_025, tif="day")
    assert stop_b["reserved_cash"] == 4 * 1_025
    ex.matcher.process(symbol, [_new(stop_a), _new(stop_b)])
    trigger = _place(ex, buyer, symbol, "buy", 1, price=1_010)
    batch = [_new(trigger)]
    ex.matcher.process(symbol, batch)
    oa, ob = _get(ex, stop_a), _get(ex, stop_b)
    assert (oa["status"], oa["filled_quantity"], oa["fill_cost"]) == ("filled", 2, 1_010 + 1_020)
    # b: nothing left at or below 10.25 but one share at 10.20: it rests for 3 at 10.25 (a bid now)
    assert (ob["status"], ob["filled_quantity"], ob["remaining_quantity"]) == ("partially_filled", 1, 3)
    assert ob["reserved_cash"] == 3 * 1_025 and ob["book_seq"] is not None
    assert book_codec.levels(ex.store.book(symbol)) == ([[1_025, 3, 1]], [[1_030, 2, 1]])
    # the price improvement went back at once: a paid 10.10 + 10.20 of 2 x 10.60 reserved
    assert ex.store.cash(a)["available"] == CASH - 2_030
    assert ex.store.cash(b)["available"] == CASH - 1_020 - 3 * 1_025
    version = ex.store.book(symbol)["version"]
    events = book_codec.events(ex.store.book(symbol))
    order_events = [(e["type"], e["data"]["id"]) for e in events if e["channel"].startswith("user:")]
    assert order_events == [
        ("ORDER_ACCEPTED", trigger["id"]),
        ("ORDER_FILLED", asks[0]["id"]),
        ("ORDER_FILLED", trigger["id"]),
        ("ORDER_TRIGGERED", stop_a["id"]),
        ("ORDER_FILLED", asks[0]["id"]),
        ("ORDER_FILLED", stop_a["id"]),
        ("ORDER_FILLED", asks[1]["id"]),
        ("ORDER_FILLED", stop_a["id"]),
        ("ORDER_TRIGGERED", stop_b["id"]),
        ("ORDER_FILLED", asks[1]["id"]),
        ("ORDER_FILLED", stop_b["id"]),
    ]
    # Redelivered: nothing to do
    ex.matcher.process(symbol, batch)
    assert ex.store.book(symbol)["version"] == version
    # a fresh container (rebuilt from the table) sees the same market: b rests, no stop waits
    fresh = Matcher(ex.matcher_store)
    sell = _place(ex, seller, symbol, "sell", 3, price=1_025)
    fresh.process(symbol, [_new(sell)])
    assert _get(ex, stop_b)["status"] == "filled"
    _conserved(ex, symbol, [seller, buyer, a, b])


def test_cancel_and_expiry_of_waiting_stops_release_their_reservations(exchange: Exchange) -> None:
    ex = exchange
    symbol, (seller, buyer, *_rest) = _setup(ex)
    buy_stop = _place(ex, buyer, symbol, "buy", 5, "stop_limit", stop=1_100, price=1_120)
    sell_stop = _place(ex, seller, symbol, "sell", 7, "stop", stop=900, tif="day")
    assert sell_stop["price_bound"] == 855 and sell_stop["reserved_quantity"] == 7
    ex.matcher.process(symbol, [_new(buy_stop), _new(sell_stop)])
    assert ex.store.cash(buyer)["reserved"] == 5_600
    ex.orders.cancel(buyer, buy_stop["id"])
    ex.matcher.process(
        symbol,
        [
            Message("cancel", symbol, buy_stop["id"], buyer),
            Message("expire", symbol, sell_stop["id"], seller),
        ],
    )
    assert (_get(ex, buy_stop)["status"], _get(ex, buy_stop)["reserved_cash"]) == ("cancelled", 0)
    assert (_get(ex, sell_stop)["status"], _get(ex, sell_stop)["cancel_reason"]) == ("expired", "expired")
    assert ex.store.cash(buyer)["reserved"] == 0
    assert (ex.store.holding(seller, symbol) or {})["reserved"] == 0
    assert ex.store.resting_orders(symbol) == []
    _conserved(ex, symbol, [seller, buyer, *_rest])


def test_stops_do_not_trigger_while_halted_and_new_stops_are_rejected(exchange: Exchange) -> None:
    ex = exchange
    symbol, (seller, buyer, stopper, _) = _setup(ex)
    first = [
        _place(ex, seller, symbol, "sell", 1, price=1_000),
        _place(ex, buyer, symbol, "buy", 1, price=1_000),
    ]
    stop = _place(ex, stopper, symbol, "buy", 2, "stop", stop=1_010)
    ex.matcher.process(symbol, [*map(_new, first), _new(stop)])
    late = _place(ex, stopper, symbol, "buy", 1, "stop", stop=1_020)
    ex.matcher.process(symbol, [Message("halt", symbol, "h", "admin"), _new(late)])
    assert (_get(ex, late)["status"], _get(ex, late)["reject_reason"]) == ("rejected", "halted")
    assert _get(ex, stop)["status"] == "open"  # still waiting
    ex.matcher.process(symbol, [Message("resume", symbol, "r", "admin")])
    assert _get(ex, stop).get("triggered_at") is None  # a resume triggers nothing by itself
    ask = _place(ex, seller, symbol, "sell", 3, price=1_010)
    bid = _place(ex, buyer, symbol, "buy", 1, price=1_010)
    ex.matcher.process(symbol, [_new(ask), _new(bid)])
    assert _get(ex, stop)["status"] == "filled"
    _conserved(ex, symbol, [seller, buyer, stopper, _])


class _CrashAfterFirstCommit(DynamoMatcherStore):
    def __init__(self) -> None:
        super().__init__("ExchangeTable", boto3.client("dynamodb"))
        self.commits: list[BatchCommit] = []

    def commit(self, batch: BatchCommit) -> None:
        if self.commits:
            raise RuntimeError("the invocation died")
        super().commit(batch)
        self.commits.append(batch)


def test_a_cascade_split_over_two_transactions_resumes_in_order_after_a_crash(exchange: Exchange) -> None:
    ex = exchange
    symbol, users = _setup(ex, 4)
    seller, buyer, stopper, other = users
    asks = [_place(ex, u, symbol, "sell", 1, price=1_010 + i) for i, u in enumerate([seller, other] * 15)]
    for i in range(0, len(asks), 10):
        ex.matcher.process(symbol, [_new(o) for o in asks[i : i + 10]])
    stop = _place(ex, stopper, symbol, "buy", 40, "stop", stop=1_010)  # bound 10.60: sweeps all 29 left
    ex.matcher.process(symbol, [_new(stop)])
    trigger = _place(ex, buyer, symbol, "buy", 1, price=1_010)
    crashing = Matcher(_CrashAfterFirstCommit())
    with pytest.raises(RuntimeError):
        crashing.process(symbol, [_new(trigger)])
    (first,) = crashing.store.commits  # type: ignore[attr-defined]
    assert first.book.resume == (stopper, stop["id"], first.book.resume[2])  # the stop mid-fills
    mid = _get(ex, stop)
    assert mid["status"] == "pending" and 0 < mid["filled_quantity"] < 29
    # the redelivery (a fresh container) resumes the stop first, then finishes it
    Matcher(ex.matcher_store).process(symbol, [_new(trigger)])
    done = _get(ex, stop)
    assert (done["status"], done["filled_quantity"], done["cancel_reason"]) == (
        "cancelled",
        29,
        "no_liquidity",
    )
    assert done["reserved_cash"] == 0
    assert ex.store.book(symbol).get("resume") is None
    assert book_codec.levels(ex.store.book(symbol)) == ([], [])
    assert ex.store.stock(symbol)["trade_seq"] == 30  # each trade once, numbered without a gap
    events = [e for e in book_codec.events(ex.store.book(symbol)) if e["channel"] == f"user:{stopper}"]
    assert events[-1]["type"] == "ORDER_CANCELLED"
    _conserved(ex, symbol, users)
