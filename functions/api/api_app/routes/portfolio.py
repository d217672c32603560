"""/api/portfolio: the caller's cash, holdings, P&L and fills."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api_app.deps import PrincipalDep, ServicesDep
from api_app.schemas import ErrorEnvelope, FillListOut, PortfolioOut

router = APIRouter(prefix="/api/portfolio", tags=["portfolio"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorEnvelope} for c in (401, 422)}


@router.get("", response_model=PortfolioOut, responses=ERRORS)
def portfolio(p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return svc.portfolio.view(p.user_id)


@router.get("/fills", response_model=FillListOut, responses=ERRORS)
def fills(
    p: PrincipalDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    items, next_cursor = svc.portfolio.fills(p.user_id, limit, cursor)
    return {"fills": items, "next_cursor": next_cursor}
