"""/api/orders: place, list, get (with fills), cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from api_app.deps import PrincipalDep, ServicesDep
from api_app.error_docs import AUTH, BODY, errors
from api_app.schemas import OrderIn, OrderListOut, OrderOut, Symbol
from exchange.usecases.orders import OrderRequest
from exchange.views import fill_view, order_view

router = APIRouter(prefix="/api/orders", tags=["orders"])

_PENDING = (
    "**Matching is asynchronous.** The order comes back `pending`: accepted, its cash or shares reserved, "
    "waiting for the matcher, which takes each stock's orders in one FIFO sequence (locally within a "
    "fraction of a second). To see what happened to it, either poll `GET /api/orders/{id}` until "
    "`status` is no longer `pending` (a status other than `pending` comes with every fill the order "
    "made on arrival), or connect to the WebSocket with `?token=<access_token>` and wait for "
    "`ORDER_ACCEPTED`, then `ORDER_FILLED` per fill, then `ORDER_CANCELLED` / `ORDER_EXPIRED` if it "
    "did not fill completely."
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "existing order (same client_order_id, same parameters)"},
        **errors(
            *BODY,
            *AUTH,
            "insufficient_funds",
            "insufficient_shares",
            "no_liquidity",
            "unknown_symbol",
            "duplicate_client_order_id",
            "stock_halted",
            "temporarily_unavailable",
        ),
    },
    summary="Place an order",
    description=_PENDING
    + "\n\nA limit order needs `limit_price` (a positive multiple of the stock's tick: 422 otherwise) and "
    "takes `time_in_force` gtc (default), day, ioc or fok; a market order takes no price and only ioc "
    "(its default), gets a collar (`price_bound`: the last price, else the reference price, +5% for a "
    "buy, -5% for a sell) and is refused with 422 `no_liquidity` when the other side of the book is "
    "empty. A buy reserves quantity x limit_price (a market buy: x price_bound) of available cash (422 "
    "`insufficient_funds`), a sell reserves the shares (422 `insufficient_shares`). A refused order "
    "is not created at all. The same `client_order_id` with the same parameters answers 200 with the "
    "existing order; with other parameters, 409 `duplicate_client_order_id`.\n\n"
    "A `stop` or `stop_limit` order needs `stop_price` (a positive multiple of the tick; not allowed on "
    "other types) and takes `time_in_force` gtc (default) or day; a `stop_limit` also needs "
    "`limit_price`, a `stop` takes none. It waits, `open` and outside the order book's depth, until a "
    "trade of the stock at or above `stop_price` (a buy) or at or below it (a sell), or at once if the "
    "last trade already meets it when the matcher takes it; then `ORDER_TRIGGERED` (`triggered_at` "
    "set) and it enters the book: a `stop` as a market order bounded by its `price_bound` "
    "(`stop_price` +5% rounded down to the tick for a buy, -5% rounded up for a sell, fixed at "
    "placement), a `stop_limit` as a limit order. A stop buy reserves quantity x price_bound, a "
    "stop_limit buy quantity x limit_price, a sell the shares. No `no_liquidity` check at placement. "
    "While the stock is halted: "
    "409 `stock_halted` (an order the api accepted before it knew of the halt, but sequenced after it, "
    "becomes `rejected` with `reject_reason: \"halted\"`, its reservation released, and "
    "`ORDER_REJECTED` is sent).",
)
def place_order(body: OrderIn, p: PrincipalDep, svc: ServicesDep, response: Response) -> dict[str, Any]:
    assert body.time_in_force is not None
    order, created = svc.orders.place(
        p.user_id,
        OrderRequest(
            symbol=body.symbol,
            side=body.side,
            order_type=body.type,
            quantity=body.quantity,
            limit_price=body.limit_price,
            tif=body.time_in_force,
            stop_price=body.stop_price,
            client_order_id=body.client_order_id,
        ),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return order_view(order)


@router.get(
    "",
    response_model=OrderListOut,
    responses=errors(*AUTH, "validation_error"),
    summary="List the caller's orders",
    description="Newest first, `limit` per page (default 50, at most 500); pass `next_cursor` back as "
    "`cursor` for the next page (null: no more). `status=open` lists the orders not yet final "
    "(`pending`, `open`, `partially_filled`), `closed` the final ones, `all` (default) both; `symbol` "
    "narrows to one stock. A bad cursor or parameter: 422 `validation_error`.",
)
def list_orders(
    p: PrincipalDep,
    svc: ServicesDep,
    status_filter: Annotated[Literal["open", "closed", "all"], Query(alias="status")] = "all",
    symbol: Symbol | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    orders, next_cursor = svc.orders.list(p.user_id, status_filter, symbol, limit, cursor)
    return {"orders": [order_view(o) for o in orders], "next_cursor": next_cursor}


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    responses=errors(*AUTH, "not_found"),
    summary="One of the caller's orders, with its fills",
    description="The order with `fills` (oldest first, in execution order). Poll it after placing to "
    "see the matcher's outcome: `pending` until the matcher has taken it. Another user's order is "
    "404 `not_found`, like one that does not exist.",
)
def get_order(order_id: str, p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    order, fills = svc.orders.get(p.user_id, order_id)
    return {**order_view(order), "fills": [fill_view(f) for f in fills]}


@router.delete(
    "/{order_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrderOut,
    responses=errors(*AUTH, "not_found", "order_not_cancellable", "temporarily_unavailable"),
    summary="Cancel an order",
    description="202 with `cancel_requested: true` for any order not yet final; the cancel travels "
    "through the stock's sequence like an order, so the order may still fill before it is cancelled: "
    "wait for `ORDER_CANCELLED` on the WebSocket, or poll the order. Idempotent: a second DELETE is 202 "
    "again. 409 `order_not_cancellable` once it is final.",
)
def cancel_order(order_id: str, p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return order_view(svc.orders.cancel(p.user_id, order_id))
