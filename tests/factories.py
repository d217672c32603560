"""Records for tests: a limit order as the api stores it, with its reservation per the money rules
(a buy reserves quantity x limit price in cash, a sell its quantity in shares)."""

from __future__ import annotations

from typing import Any

from exchange.domain.records import Order


def limit_order(
    oid: str,
    user: str,
    symbol: str,
    side: str,
    qty: int,
    price: int,
    *,
    status: str = "pending",
    tif: str = "gtc",
    at: int = 1,
    **fields: Any,
) -> Order:
    buy = side == "buy"
    values: dict[str, Any] = {
        "reservation_price": price if buy else None,
        "reserved_cash": price * qty if buy else 0,
        "reserved_quantity": 0 if buy else qty,
        **fields,
    }
    return Order(
        id=oid,
        user_id=user,
        symbol=symbol,
        side=side,
        order_type="limit",
        tif=tif,
        quantity=qty,
        filled_quantity=0,
        remaining_quantity=qty,
        status=status,
        created_at=at,
        updated_at=at,
        limit_price=price,
        **values,
    )
