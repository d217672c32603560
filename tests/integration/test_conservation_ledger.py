"""The conservation ledger (CASH `initial` + `deposited`, HOLDING `granted`) is written where the
money enters, and the checker finds the real item layout clean after real trading (and a broken
one not)."""

from __future__ import annotations

import uuid

import boto3

from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange
from tools.conservation import Snapshot, check
from tools.conservation.loader import scan


def _snapshot() -> Snapshot:
    return Snapshot.from_items(scan(boto3.client("dynamodb"), "ExchangeTable"))


def test_ledger_fields_and_a_clean_check_after_trading(exchange: Exchange) -> None:
    ex = exchange
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, 1_000, 1)
    seller = ex.accounts.register(f"s{uuid.uuid4().hex[:8]}@example.com", "password123", None, cash=5_000)[
        "id"
    ]
    buyer = ex.accounts.register(f"b{uuid.uuid4().hex[:8]}@example.com", "password123", None, cash=7_000)[
        "id"
    ]
    ex.admin.grant(seller, symbol, 10)
    ex.admin.grant(seller, symbol, 5)
    ex.admin.deposit(buyer, 20_000)

    assert ex.store.cash(buyer)["initial"] == 7_000 and ex.store.cash(buyer)["deposited"] == 20_000
    assert ex.store.cash(seller)["deposited"] == 0
    assert ex.store.holding(seller, symbol)["granted"] == 15

    sell, _ = ex.orders.place(seller, OrderRequest(symbol, "sell", "limit", 8, 1_000, "gtc", None))
    buy, _ = ex.orders.place(buyer, OrderRequest(symbol, "buy", "limit", 5, 1_010, "gtc", None))
    rest, _ = ex.orders.place(buyer, OrderRequest(symbol, "buy", "limit", 2, 990, "gtc", None))
    ex.matcher.process(symbol, [Message("new", symbol, o["id"], o["user_id"]) for o in (sell, buy, rest)])

    snap = _snapshot()
    assert len([t for t in snap.trades if t.symbol == symbol]) == 1
    assert check(snap) == []

    # the buyer's holding, created by the matcher, has no grant: shares conserved only through the ledger
    ex.store.table.update(f"USER#{buyer}", f"HOLDING#{symbol}", "ADD available :one", values={":one": 1})
    assert [v.rule for v in check(_snapshot())] == ["shares_conserved"]
    ex.store.table.update(f"USER#{buyer}", f"HOLDING#{symbol}", "ADD available :one", values={":one": -1})
