"""/api/orders: place, list, get (with fills), cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from api_app.deps import PrincipalDep, ServicesDep
from api_app.schemas import ErrorEnvelope, OrderIn, OrderListOut, OrderOut, Symbol
from exchange.usecases.orders import OrderRequest
from exchange.views import fill_view, order_view

router = APIRouter(prefix="/api/orders", tags=["orders"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorEnvelope} for c in (400, 401, 404, 409, 422)}
# a write can meet a concurrent one (DynamoDB transaction conflict) beyond its retries: 503
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 503: {"model": ErrorEnvelope}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "existing order (same client_order_id)"},
        **WRITE_ERRORS,
    },
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
            client_order_id=body.client_order_id,
        ),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return order_view(order)


@router.get("", response_model=OrderListOut, responses=ERRORS)
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


@router.get("/{order_id}", response_model=OrderOut, responses=ERRORS)
def get_order(order_id: str, p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    order, fills = svc.orders.get(p.user_id, order_id)
    return {**order_view(order), "fills": [fill_view(f) for f in fills]}


@router.delete(
    "/{order_id}", status_code=status.HTTP_202_ACCEPTED, response_model=OrderOut, responses=WRITE_ERRORS
)
def cancel_order(order_id: str, p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return order_view(svc.orders.cancel(p.user_id, order_id))
