"""The conservation checker on synthetic exchange tables: a clean state passes, and for each money
rule a state that breaks it is reported, naming the ids involved."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tools.conservation import Snapshot, check

Items = dict[tuple[str, str], dict[str, Any]]


def _order(oid: str, user: str, side: str, qty: int, price: int, **kw: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"USER#{user}",
        "sk": f"ORDER#{oid}",
        "type": "order",
        "id": oid,
        "user_id": user,
        "symbol": "ACME",
        "side": side,
        "order_type": "limit",
        "tif": "gtc",
        "quantity": qty,
        "limit_price": price,
        "price_bound": None,
        "reservation_price": price if side == "buy" else None,
        "filled_quantity": 0,
        "remaining_quantity": qty,
        "fill_cost": 0,
        "status": "open",
        "reserved_cash": price * qty if side == "buy" else 0,
        "reserved_quantity": 0 if side == "buy" else qty,
        "cancel_requested": False,
    }
    item.update(kw)
    return item


def _fill(user: str, oid: str, side: str, seq: int, price: int, qty: int) -> dict[str, Any]:
    return {
        "pk": f"USER#{user}",
        "sk": f"FILL#{oid}#{seq:012d}",
        "type": "fill",
        "trade_id": f"T{seq}",
        "order_id": oid,
        "user_id": user,
        "symbol": "ACME",
        "side": side,
        "price": price,
        "quantity": qty,
    }


def clean_state() -> Items:
    """Seller A (granted 10) sold 5 at 10.00 to B's buy 5 at 10.10; A rests 3 at 10.00, B bids 2 at 9.90."""
    items = [
        {"pk": "STOCK#ACME", "sk": "STOCK", "symbol": "ACME", "trade_seq": 1},
        {
            "pk": "STOCK#ACME",
            "sk": "BOOK",
            "symbol": "ACME",
            "version": 3,
            "bids": json.dumps([[990, 2, 1]]),
            "asks": json.dumps([[1000, 3, 1]]),
            "partial": False,
        },
        {"pk": "USER#ADM", "sk": "CASH", "available": 0, "reserved": 0, "initial": 0, "deposited": 0},
        {
            "pk": "USER#A",
            "sk": "CASH",
            "available": 105_000,
            "reserved": 0,
            "initial": 100_000,
            "deposited": 0,
        },
        {
            "pk": "USER#B",
            "sk": "CASH",
            "available": 93_520,
            "reserved": 1_980,
            "initial": 100_000,
            "deposited": 500,
        },
        {"pk": "USER#A", "sk": "HOLDING#ACME", "available": 2, "reserved": 3, "granted": 10},
        {"pk": "USER#B", "sk": "HOLDING#ACME", "available": 5, "reserved": 0},
        _order(
            "A1",
            "A",
            "sell",
            8,
            1000,
            status="partially_filled",
            filled_quantity=5,
            remaining_quantity=3,
            fill_cost=5000,
            reserved_quantity=3,
            book_symbol="ACME",
        ),
        _order(
            "B1",
            "B",
            "buy",
            5,
            1010,
            status="filled",
            filled_quantity=5,
            remaining_quantity=0,
            fill_cost=5000,
            reserved_cash=0,
        ),
        _order("B2", "B", "buy", 2, 990, book_symbol="ACME"),
        {
            "pk": "TRADES#ACME",
            "sk": f"{1:012d}",
            "type": "trade",
            "id": "T1",
            "symbol": "ACME",
            "seq": 1,
            "price": 1000,
            "quantity": 5,
            "buy_order_id": "B1",
            "sell_order_id": "A1",
        },
        _fill("A", "A1", "sell", 1, 1000, 5),
        _fill("B", "B1", "buy", 1, 1000, 5),
    ]
    return {(i["pk"], i["sk"]): i for i in items}


def _rules(items: Items, *, quiet: bool = True) -> dict[str, list[tuple[str, ...]]]:
    found: dict[str, list[tuple[str, ...]]] = {}
    for v in check(Snapshot.from_items(copy.deepcopy(list(items.values()))), quiet=quiet):
        found.setdefault(v.rule, []).append(v.ids)
    return found


def test_a_clean_state_has_no_violation() -> None:
    assert _rules(clean_state()) == {}


def _set(key: tuple[str, str], **changes: Any) -> Callable[[Items], None]:
    def mutate(items: Items) -> None:
        items[key].update(changes)

    return mutate


def _add(item: dict[str, Any]) -> Callable[[Items], None]:
    def mutate(items: Items) -> None:
        items[(item["pk"], item["sk"])] = item

    return mutate


def _drop(key: tuple[str, str]) -> Callable[[Items], None]:
    def mutate(items: Items) -> None:
        del items[key]

    return mutate


def _both(*mutations: Callable[[Items], None]) -> Callable[[Items], None]:
    def mutate(items: Items) -> None:
        for m in mutations:
            m(items)

    return mutate


CASH_A, CASH_B = ("USER#A", "CASH"), ("USER#B", "CASH")
HOLD_A, HOLD_B = ("USER#A", "HOLDING#ACME"), ("USER#B", "HOLDING#ACME")
ORD_A1, ORD_B1, ORD_B2 = ("USER#A", "ORDER#A1"), ("USER#B", "ORDER#B1"), ("USER#B", "ORDER#B2")
BOOK, TRADE1 = ("STOCK#ACME", "BOOK"), ("TRADES#ACME", f"{1:012d}")
FILL_B1 = ("USER#B", f"FILL#B1#{1:012d}")

# (rule expected, ids it must name, how the clean state is broken)
CASES: list[tuple[str, tuple[str, ...], Callable[[Items], None]]] = [
    # money appears out of nothing: a deposit not recorded in the ledger
    ("cash_conserved", (), _set(CASH_A, available=105_100)),
    ("cash_ledger_missing", ("A",), _set(CASH_A, initial=None)),
    # a share appears with no grant
    ("shares_conserved", ("ACME",), _set(HOLD_B, available=6)),
    (
        "negative_balance",
        ("A",),
        _both(_set(CASH_A, available=-1), _set(("USER#ADM", "CASH"), available=105_001)),
    ),
    ("negative_balance", ("B", "ACME"), _both(_set(HOLD_B, available=-1), _set(HOLD_A, available=8))),
    # the account reserves more than its open orders
    ("reserved_cash", ("B",), _both(_set(CASH_B, reserved=2_000, available=93_500))),
    ("reserved_shares", ("A", "ACME"), _set(HOLD_A, reserved=2, available=3)),
    # a cancelled order that kept its reservation (and the account with it)
    (
        "final_order_reserved",
        ("B2",),
        _both(_set(ORD_B2, status="cancelled", cancel_reason="user"), _set(BOOK, bids="[]")),
    ),
    ("order_quantities", ("A1",), _set(ORD_A1, remaining_quantity=4, reserved_quantity=4)),
    ("order_fills", ("B1",), _set(FILL_B1, quantity=4)),
    ("order_fills", ("B1",), _set(ORD_B1, fill_cost=5_050)),
    ("buy_reservation", ("B2",), _both(_set(ORD_B2, reserved_cash=1_000), _set(CASH_B, reserved=1_000))),
    ("trade_fill", ("T1", "B1"), _drop(FILL_B1)),
    ("trade_fill", ("T1", "A1"), _set(("USER#A", f"FILL#A1#{1:012d}"), price=990)),
    ("orphan_fill", ("B1", "T2"), _add(_fill("B", "B1", "buy", 2, 1000, 1))),
    # a gap: trade 2 is missing, trade 3 exists
    (
        "trade_sequence",
        ("ACME",),
        _both(_set(TRADE1, seq=3), _set(("STOCK#ACME", "STOCK"), trade_seq=3)),
    ),
    ("trade_sequence", ("ACME",), _set(("STOCK#ACME", "STOCK"), trade_seq=2)),
    ("book", ("ACME",), _set(BOOK, asks=json.dumps([[1000, 4, 1]]))),
    ("resting_order", ("B2",), _set(ORD_B2, book_symbol=None)),
    (
        "crossed_book",
        ("ACME",),
        _both(
            _set(ORD_B2, limit_price=1000, reservation_price=1000, reserved_cash=2_000),
            _set(BOOK, bids=json.dumps([[1000, 2, 1]])),
            _set(CASH_B, reserved=2_000, available=93_500),
        ),
    ),
    ("self_trade", ("T1", "B"), _both(_set(ORD_A1, user_id="B"))),
    ("limit_breach", ("T1", "B1"), _set(ORD_B1, limit_price=990)),
    ("limit_breach", ("T1", "A1"), _set(ORD_A1, limit_price=1010)),
    (
        "limit_breach",
        ("T1", "B1"),
        _set(ORD_B1, order_type="market", tif="ioc", limit_price=None, price_bound=999),
    ),
    ("pending_order", ("B2", "B"), _set(ORD_B2, status="pending", book_symbol=None)),
    ("pending_order", ("ACME",), _set(BOOK, partial=True)),
]


@pytest.mark.parametrize(("rule", "ids", "mutate"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_broken_rule_is_reported_with_its_ids(
    rule: str, ids: tuple[str, ...], mutate: Callable[[Items], None]
) -> None:
    items = clean_state()
    mutate(items)
    found = _rules(items)
    assert rule in found, found
    if ids:
        assert ids in found[rule], found


def test_pending_orders_are_allowed_while_the_system_is_not_quiet() -> None:
    items = clean_state()
    items[ORD_B2].update(status="pending", book_symbol=None)
    items[BOOK]["bids"] = "[]"
    assert _rules(items, quiet=False) == {}
    assert set(_rules(items)) == {"pending_order"}
