"""The contract's JSON shapes, made from stored items. Shared by the api and the event producers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exchange import book_codec
from exchange.domain.candles import Candle
from exchange.domain.money import change_percent, div_round_half_up, format_cents, format_optional
from exchange.ids import iso_ms


def order_view(o: dict[str, Any]) -> dict[str, Any]:
    filled = int(o.get("filled_quantity", 0))
    avg = div_round_half_up(int(o.get("fill_cost", 0)), filled) if filled else None
    return {
        "id": o["id"],
        "client_order_id": o.get("client_order_id"),
        "symbol": o["symbol"],
        "side": o["side"],
        "type": o["order_type"],
        "time_in_force": o["tif"],
        "quantity": int(o["quantity"]),
        "limit_price": format_optional(o.get("limit_price")),
        "filled_quantity": filled,
        "remaining_quantity": int(o["remaining_quantity"]),
        "average_fill_price": format_optional(avg),
        "status": o["status"],
        "cancel_requested": bool(o.get("cancel_requested", False)),
        "reserved_cash": format_cents(int(o.get("reserved_cash", 0))),
        "reserved_quantity": int(o.get("reserved_quantity", 0)),
        "price_bound": format_optional(o.get("price_bound")),
        "cancel_reason": o.get("cancel_reason"),
        "stop_price": format_optional(o.get("stop_price")),
        "triggered_at": iso_ms(int(o["triggered_at"])) if o.get("triggered_at") is not None else None,
        "reject_reason": o.get("reject_reason"),
        "created_at": iso_ms(int(o["created_at"])),
        "updated_at": iso_ms(int(o["updated_at"])),
    }


def fill_view(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "trade_id": f["trade_id"],
        "price": format_cents(int(f["price"])),
        "quantity": int(f["quantity"]),
        "liquidity": f["liquidity"],
        "executed_at": iso_ms(int(f["executed_at"])),
    }


def user_fill_view(f: dict[str, Any]) -> dict[str, Any]:
    return {**fill_view(f), "order_id": f["order_id"], "symbol": f["symbol"], "side": f["side"]}


def cash_view(c: dict[str, Any] | None) -> dict[str, str]:
    available = int((c or {}).get("available", 0))
    reserved = int((c or {}).get("reserved", 0))
    return {
        "available": format_cents(available),
        "reserved": format_cents(reserved),
        "total": format_cents(available + reserved),
    }


def holding_view(h: dict[str, Any], last_price: int | None, reference_price: int) -> dict[str, Any]:
    available = int(h.get("available", 0))
    reserved = int(h.get("reserved", 0))
    quantity = available + reserved
    cost = int(h.get("cost_basis", 0))
    mark = last_price if last_price is not None else reference_price
    market_value = mark * quantity
    return {
        "symbol": h["symbol"],
        "quantity": quantity,
        "available_quantity": available,
        "reserved_quantity": reserved,
        "average_cost": format_cents(div_round_half_up(cost, quantity)) if quantity else "0.00",
        "last_price": format_optional(last_price),
        "market_value": format_cents(market_value),
        "unrealized_pnl": format_cents(market_value - cost),
    }


def level_view(level: Sequence[int]) -> dict[str, Any]:
    price, qty, count = level
    return {"price": format_cents(int(price)), "quantity": int(qty), "orders": int(count)}


def book_levels(book: dict[str, Any] | None) -> tuple[list[list[int]], list[list[int]]]:
    """The stored BOOK snapshot's levels: ([price, qty, orders], ...) bids high->low, asks low->high."""
    return book_codec.levels(book)


def book_view(symbol: str, book: dict[str, Any] | None, depth: int) -> dict[str, Any]:
    bids, asks = book_levels(book)
    updated_at = int(book["updated_at"]) if book and book.get("updated_at") else None
    return levels_view(symbol, bids, asks, book_sequence(book) if book else 0, updated_at, depth)


def book_sequence(book: dict[str, Any]) -> int:
    """The clients' book sequence of a stored BOOK item (books written before it was kept separately
    from the version carry only the version, which is where their sequence continues)."""
    return int(book.get("sequence", book["version"]))


def levels_view(
    symbol: str,
    bids: Sequence[Sequence[int]],
    asks: Sequence[Sequence[int]],
    sequence: int,
    updated_at: int | None,
    depth: int,
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "bids": [level_view(lv) for lv in bids[:depth]],
        "asks": [level_view(lv) for lv in asks[:depth]],
        "sequence": sequence,
        "timestamp": iso_ms(updated_at) if updated_at else None,
    }


def stock_view(s: dict[str, Any], book: dict[str, Any] | None, today: str) -> dict[str, Any]:
    last = s.get("last_price")
    same_day = s.get("day") == today
    bids, asks = book_levels(book)
    return {
        "symbol": s["symbol"],
        "name": s["name"],
        "tick_size": format_cents(int(s["tick"])),
        "last_price": format_optional(last),
        "reference_price": format_cents(int(s["reference_price"])),
        "open": format_optional(s.get("open")) if same_day else None,
        "high": format_optional(s.get("high")) if same_day else None,
        "low": format_optional(s.get("low")) if same_day else None,
        "volume": int(s.get("volume", 0)) if same_day else 0,
        "change_percent": change_percent(int(last), int(s["reference_price"])) if last is not None else None,
        "best_bid": format_cents(bids[0][0]) if bids else None,
        "best_ask": format_cents(asks[0][0]) if asks else None,
        "status": s.get("status", "trading"),
        "updated_at": iso_ms(int(s["updated_at"])),
    }


def user_view(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "email": p["email"],
        "display_name": p.get("display_name"),
        "role": p["role"],
        "created_at": iso_ms(int(p["created_at"])),
    }


def trade_view(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": t["id"],
        "price": format_cents(int(t["price"])),
        "quantity": int(t["quantity"]),
        "aggressor_side": t["aggressor_side"],
        "executed_at": iso_ms(int(t["executed_at"])),
    }


def candle_view(c: Candle) -> dict[str, Any]:
    return {
        "start": iso_ms(c.start),
        **{k: format_cents(getattr(c, k)) for k in ("open", "high", "low", "close")},
        "volume": c.volume,
    }
