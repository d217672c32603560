"""The stock's audit log in the exchange table, and the admin reads the replay needs.

Storage: one item per matcher commit that took inputs, written in that commit's transaction
(conditional on not existing; the transaction is also conditional on the book version), pk
``LOG#SYM``, sk the zero-padded seq of its LAST entry, the entries as compact JSON (prices in
cents). A commit takes at most ~60 inputs (settlement cuts at 60 operations, each input writes at
least its order), ~150-250 bytes each: an item stays far under DynamoDB's 400 KB, typically one
or two 1 KB write units (x2 in a transaction). Keyed by the last seq, the item holding entry
``after + 1`` is the first with ``sk > seq_sk(after)``: a page is one bounded Query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from exchange import keys
from exchange.adapters.dynamo import Item, Table
from exchange.adapters.order_items import order_from_item
from exchange.domain.batch import LogInput
from exchange.domain.money import format_cents
from exchange.domain.records import Order
from exchange.ids import iso_ms

_PRICES = ("limit_price", "stop_price", "price_bound")


# ---------------------------------------------------------------------- building (matcher)
def order_params(o: Order) -> dict[str, Any]:
    """The order's parameters as the engine was given them (a market order is always ioc)."""
    market = o.order_type == "market"
    params: dict[str, Any] = {
        "id": o.id,
        "user_id": o.user_id,
        "side": o.side,
        "type": o.order_type,
        "time_in_force": "ioc" if market else o.tif,
        "quantity": o.quantity,
        "limit_price": o.limit_price,
        "stop_price": getattr(o, "stop_price", None) or o.extra.get("stop_price"),
        "price_bound": o.price_bound,
    }
    for name in _PRICES:  # cents, stored as plain ints (the item's JSON)
        if params[name] is not None:
            params[name] = int(params[name])
    return params


def entry_data(e: LogInput) -> dict[str, Any]:
    data: dict[str, Any] = {"seq": e.seq, "kind": e.kind, "at": e.at}
    if e.order is not None:
        data["order"] = order_params(e.order)
    if e.order_id is not None:
        data["order_id"] = e.order_id
    return data


def log_item(symbol: str, inputs: Sequence[LogInput]) -> Item:
    """The one item of a commit's inputs (gapless, ascending seqs)."""
    assert inputs and all(b.seq == a.seq + 1 for a, b in pairwise(inputs))
    return {
        "pk": keys.audit_log(symbol),
        "sk": keys.seq_sk(inputs[-1].seq),
        "type": "log",
        "first": inputs[0].seq,
        "last": inputs[-1].seq,
        "entries": json.dumps([entry_data(e) for e in inputs], separators=(",", ":")),
    }


# ---------------------------------------------------------------------- views (api)
def entry_view(data: dict[str, Any]) -> dict[str, Any]:
    """A stored entry in the contract's form: decimal-string prices, ISO instant."""
    view: dict[str, Any] = {"seq": data["seq"], "kind": data["kind"]}
    if "order" in data:
        order = dict(data["order"])
        for name in _PRICES:
            if order.get(name) is not None:
                order[name] = format_cents(int(order[name]))
        view["order"] = order
    if "order_id" in data:
        view["order_id"] = data["order_id"]
    view["at"] = iso_ms(int(data["at"]))
    return view


def trade_record_view(item: Item) -> dict[str, Any]:
    return {
        "seq": int(item["seq"]),
        "id": item["id"],
        "buy_order_id": item["buy_order_id"],
        "sell_order_id": item["sell_order_id"],
        "price": format_cents(int(item["price"])),
        "quantity": int(item["quantity"]),
        "aggressor_side": item["aggressor_side"],
        "executed_at": iso_ms(int(item["executed_at"])),
    }


def resting_view(item: Item) -> dict[str, Any]:
    return {
        "id": item["id"],
        "user_id": item["user_id"],
        "side": item["side"],
        "price": format_cents(
            int(item["limit_price"] if item.get("limit_price") is not None else item["price_bound"])
        ),
        "remaining_quantity": int(item["remaining_quantity"]),
        "book_seq": int(item["book_seq"]),
    }


def stop_view(o: Order) -> dict[str, Any]:
    """An untriggered stop as the replay compares it (``StopOrder``): what it enters at is its
    limit (stop_limit) or its collar (stop)."""
    assert o.stop_price is not None and o.book_seq is not None
    return {
        "id": o.id,
        "user_id": o.user_id,
        "side": o.side,
        "type": o.order_type,
        "time_in_force": o.tif,
        "stop_price": format_cents(o.stop_price),
        "price": format_cents(o.price),
        "remaining_quantity": o.remaining_quantity,
        "book_seq": o.book_seq,
    }


@dataclass(frozen=True)
class LogPage:
    entries: list[dict[str, Any]]  # contract views, oldest first
    next_after: int | None  # the last seq returned when more follow, else None


class AuditLogStore:
    """Strongly consistent reads of the log and the trades (by sequence), and the resting orders."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def page(self, symbol: str, after: int, limit: int) -> LogPage:
        # each item holds at least one entry: limit + 1 items always tell whether more follow
        items = self.table.query(
            "pk = :p AND sk > :s",
            {":p": keys.audit_log(symbol), ":s": keys.seq_sk(after)},
            limit=limit + 1,
            consistent=True,
        ).items
        entries = [e for i in items for e in json.loads(i["entries"]) if e["seq"] > after]
        more = len(entries) > limit
        entries = entries[:limit]
        return LogPage([entry_view(e) for e in entries], entries[-1]["seq"] if more else None)

    def trades(self, symbol: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        page = self.table.query(
            "pk = :p AND sk > :s",
            {":p": keys.trades(symbol), ":s": keys.seq_sk(after)},
            limit=limit,
            consistent=True,
        )
        views = [trade_record_view(i) for i in page.items]
        more = page.last_key is not None and len(views) == limit
        return views, views[-1]["seq"] if more else None

    def resting(self, symbol: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The orders resting in the book and the untriggered stops waiting outside it, each in
        arrival order (one index holds both: eventually consistent)."""
        items = list(self.table.query_all("book_symbol = :s", {":s": symbol}, index="open_orders"))
        waiting = {i["id"] for i in items if order_from_item(i).waiting}
        return (
            sorted((resting_view(i) for i in items if i["id"] not in waiting), key=lambda v: v["book_seq"]),
            sorted(
                (stop_view(order_from_item(i)) for i in items if i["id"] in waiting),
                key=lambda v: v["book_seq"],
            ),
        )
