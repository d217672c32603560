"""Property: whatever the order flow, the money rules hold at every observable moment.

Random flows (limit gtc/day/ioc/fok and market orders, cancels, batches of 1-5 messages) go through
the real place-order use case (reservation transaction) and the real matcher (settlement
transaction) against moto; after every batch: no negative balance, cash and shares conserved,
each account's reserved = the sum of its open orders' reservations, the stored book not crossed,
and every order's filled + remaining = quantity.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange import book_codec
from exchange.domain.errors import BusinessRuleViolation
from exchange.domain.records import NON_FINAL
from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange

USERS, START_CASH, START_SHARES, REF = 3, 50_000, 40, 1_000

order_op = st.tuples(
    st.just("place"),
    st.integers(0, USERS - 1),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["gtc", "gtc", "day", "ioc", "fok", "market"]),
    st.integers(1, 15),
    st.integers(REF - 30, REF + 30),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 50))
flow = st.lists(st.one_of(order_op, order_op, cancel_op), min_size=5, max_size=30)
batch_sizes = st.lists(st.integers(1, 5), min_size=30, max_size=30)


def _check(ex: Exchange, symbol: str, users: list[str]) -> None:
    total_cash = total_shares = 0
    for u in users:
        c = ex.store.cash(u)
        h = ex.store.holding(u, symbol) or {"available": 0, "reserved": 0}
        assert min(c["available"], c["reserved"], h["available"], h["reserved"]) >= 0, (c, h)
        orders = [o for o in ex.store.orders(u, "all", None, 500, None).items]
        open_orders = [o for o in orders if o["status"] in NON_FINAL]
        assert c["reserved"] == sum(o["reserved_cash"] for o in open_orders)
        assert h["reserved"] == sum(o["reserved_quantity"] for o in open_orders)
        for o in orders:
            assert o["filled_quantity"] + o["remaining_quantity"] == o["quantity"]
            if o["side"] == "buy" and o["status"] in NON_FINAL:
                assert o["reserved_cash"] == o["reservation_price"] * o["remaining_quantity"]
        total_cash += c["available"] + c["reserved"]
        total_shares += h["available"] + h["reserved"]
    assert total_cash == START_CASH * len(users)
    assert total_shares == START_SHARES * len(users)
    book = ex.store.book(symbol)
    bids, asks = book_codec.levels(book)
    assert not bids or not asks or bids[0][0] < asks[0][0]


@settings(max_examples=25)
@given(ops=flow, sizes=batch_sizes)
def test_money_rules_hold_for_any_flow(
    exchange: Exchange, ops: list[tuple[Any, ...]], sizes: list[int]
) -> None:
    ex = exchange
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:7])
    ex.admin.list_stock(symbol, symbol, REF, 1)
    users = []
    for _ in range(USERS):
        uid = ex.accounts.register(
            f"p{uuid.uuid4().hex[:10]}@example.com", "password123", None, cash=START_CASH
        )["id"]
        ex.admin.grant(uid, symbol, START_SHARES)
        users.append(uid)
    placed: list[dict[str, Any]] = []
    pending: list[Message] = []

    def flush(n: int) -> None:
        while pending:
            batch, pending[:] = pending[:n], pending[n:]
            ex.matcher.process(symbol, batch)
            _check(ex, symbol, users)

    for i, op in enumerate(ops):
        if op[0] == "place":
            _, who, side, kind, qty, price = op
            market = kind == "market"
            try:
                order, _ = ex.orders.place(
                    users[who],
                    OrderRequest(
                        symbol,
                        side,
                        "market" if market else "limit",
                        qty,
                        None if market else price,
                        "ioc" if market else kind,
                        None,
                    ),
                )
            except BusinessRuleViolation:
                continue  # refused (short of cash/shares, no liquidity): nothing may have changed
            placed.append(order)
            pending.append(Message("new", symbol, order["id"], order["user_id"]))
        elif placed:
            target = placed[op[1] % len(placed)]
            stored = ex.store.order(target["user_id"], target["id"])
            if stored["status"] in NON_FINAL:
                ex.orders.cancel(target["user_id"], target["id"])
                pending.append(Message("cancel", symbol, target["id"], target["user_id"]))
        if len(pending) >= sizes[i % len(sizes)]:
            flush(sizes[i % len(sizes)])
    flush(5)
    _check(ex, symbol, users)
