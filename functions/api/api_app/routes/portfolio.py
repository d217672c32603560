"""/api/portfolio: the caller's cash, holdings, P&L and fills."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api_app.deps import PrincipalDep, ServicesDep
from api_app.error_docs import AUTH, errors
from api_app.schemas import FillListOut, PortfolioOut

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])


@router.get(
    "",
    response_model=PortfolioOut,
    responses=errors(*AUTH),
    summary="The caller's cash, holdings and P&L",
    description="`cash`: available, reserved (by open buy orders) and total. Each holding: quantity = "
    "available + reserved (by open sell orders), weighted `average_cost`, `market_value` at the last "
    "price (else the reference price) and `unrealized_pnl`; `realized_pnl` accumulates what sells made "
    "over average cost; `equity` = total cash + market values. Reservations show at once; fills only "
    "once the matcher has made them (asynchronous).",
)
def portfolio(p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return svc.portfolio.view(p.user_id)


@router.get(
    "/fills",
    response_model=FillListOut,
    responses=errors(*AUTH, "validation_error"),
    summary="The caller's own fills",
    description="Newest first, `limit` per page (default 50, at most 500); pass `next_cursor` back as "
    "`cursor` for the next page. Each fill names its order, symbol, side, price, quantity and whether "
    "the caller's order was the maker (resting) or the taker (incoming).",
)
def fills(
    p: PrincipalDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    items, next_cursor = svc.portfolio.fills(p.user_id, limit, cursor)
    return {"fills": items, "next_cursor": next_cursor}
