"""/api/admin: list a stock, deposit cash, grant shares (role admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api_app.deps import AdminDep, ServicesDep
from api_app.schemas import CashOut, DepositIn, ErrorEnvelope, GrantIn, HoldingOut, StockIn, StockOut
from exchange.views import cash_view, holding_view

router = APIRouter(prefix="/api/admin", tags=["admin"])
# 503: a write met a concurrent one (DynamoDB transaction conflict) beyond its retries
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorEnvelope} for c in (401, 403, 404, 409, 422, 503)
}


@router.post("/stocks", status_code=status.HTTP_201_CREATED, response_model=StockOut, responses=ERRORS)
def list_stock(body: StockIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    svc.admin.list_stock(body.symbol, body.name, body.reference_price, body.tick_size)
    return svc.market.stock(body.symbol)


@router.post("/users/{user_id}/deposit", response_model=CashOut, responses=ERRORS)
def deposit(user_id: str, body: DepositIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    return cash_view(svc.admin.deposit(user_id, body.amount))


@router.post("/users/{user_id}/grant", response_model=HoldingOut, responses=ERRORS)
def grant(user_id: str, body: GrantIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    holding, stock = svc.admin.grant(user_id, body.symbol, body.quantity)
    return holding_view(holding, stock.get("last_price"), int(stock["reference_price"]))
