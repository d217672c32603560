"""What the commands print, as rich renderables built from the API's bodies (pure: no I/O)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

SIDE_STYLE = {"buy": "green", "sell": "red"}


def _side(side: str) -> Text:
    return Text(side, SIDE_STYLE.get(side, ""))


def _time(iso: str | None) -> str:
    return iso[11:23] if iso else "-"  # HH:MM:SS.mmm of the contract's ISO times


def book_table(book: dict[str, Any], depth: int = 10) -> Table:
    """Bids and asks side by side, best first, with the book's sequence in the title."""
    table = Table(title=f"{book['symbol']} order book (seq {book['sequence']})", expand=False)
    for name, justify in (("orders", "right"), ("bid qty", "right"), ("bid", "right"),
                          ("ask", "left"), ("ask qty", "left"), ("orders", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    bids, asks = book["bids"][:depth], book["asks"][:depth]
    for i in range(max(len(bids), len(asks), 1)):
        bid = bids[i] if i < len(bids) else None
        ask = asks[i] if i < len(asks) else None
        table.add_row(
            str(bid["orders"]) if bid else "",
            str(bid["quantity"]) if bid else "",
            Text(bid["price"], style="green") if bid else Text("-" if i == 0 else ""),
            Text(ask["price"], style="red") if ask else Text("-" if i == 0 else ""),
            str(ask["quantity"]) if ask else "",
            str(ask["orders"]) if ask else "",
        )
    return table


def trades_table(trades: list[dict[str, Any]], title: str = "trades") -> Table:
    table = Table(title=title)
    for name in ("time", "price", "qty", "aggressor"):
        table.add_column(name, justify="right" if name in ("price", "qty") else "left")
    for t in trades:
        side = t.get("aggressor_side", "")
        table.add_row(_time(t.get("executed_at")), t["price"], str(t["quantity"]), _side(side))
    if not trades:
        table.add_row("-", "", "", "")
    return table


def trade_line(t: dict[str, Any]) -> str:
    side, at = t.get("aggressor_side", "?"), _time(t.get("executed_at"))
    return f"trade {t['quantity']} @ {t['price']} ({side} aggressor) {at}"


def watch_view(book: dict[str, Any], trades: list[dict[str, Any]], status: str = "") -> Group:
    parts: list[Any] = [book_table(book), trades_table(trades, title=f"{book['symbol']} tape")]
    if status:
        parts.append(Text(status, style="dim"))
    return Group(*parts)


def orders_table(orders: list[dict[str, Any]]) -> Table:
    table = Table(title="orders")
    for name in (
        "id",
        "symbol",
        "side",
        "type",
        "tif",
        "qty",
        "filled",
        "price",
        "avg fill",
        "status",
        "created",
    ):
        table.add_column(name, justify="right" if name in ("qty", "filled", "price", "avg fill") else "left")
    for o in orders:
        table.add_row(
            o["id"], o["symbol"], _side(o["side"]), o["type"], o["time_in_force"],
            str(o["quantity"]), str(o["filled_quantity"]), o.get("limit_price") or "-",
            o.get("average_fill_price") or "-", o["status"], _time(o.get("created_at")),
        )  # fmt: skip
    return table


def order_summary(o: dict[str, Any]) -> str:
    price = f" @ {o['limit_price']}" if o.get("limit_price") else ""
    return (
        f"{o['status']}: {o['side']} {o['quantity']} {o['symbol']} {o['type']}{price} "
        f"(filled {o['filled_quantity']}) id {o['id']}"
    )


def portfolio_view(p: dict[str, Any]) -> Group:
    cash = p["cash"]
    head = Text(
        f"cash {cash['available']} available, {cash['reserved']} reserved, {cash['total']} total; "
        f"equity {p['equity']}; realized P&L {p['realized_pnl']}"
    )
    table = Table(title="holdings")
    for name in ("symbol", "qty", "available", "reserved", "avg cost", "last", "value", "unrealized"):
        table.add_column(name, justify="left" if name == "symbol" else "right")
    for h in p["holdings"]:
        table.add_row(
            h["symbol"], str(h["quantity"]), str(h["available_quantity"]), str(h["reserved_quantity"]),
            h["average_cost"], h.get("last_price") or "-", h["market_value"], h["unrealized_pnl"],
        )  # fmt: skip
    return Group(head, table)


def stocks_table(stocks: list[dict[str, Any]]) -> Table:
    table = Table(title="stocks")
    for name in ("symbol", "name", "last", "change %", "bid", "ask", "volume"):
        table.add_column(name, justify="left" if name in ("symbol", "name") else "right")
    for s in stocks:
        table.add_row(
            s["symbol"], s["name"], s.get("last_price") or "-", s.get("change_percent") or "-",
            s.get("best_bid") or "-", s.get("best_ask") or "-", str(s["volume"]),
        )  # fmt: skip
    return table
