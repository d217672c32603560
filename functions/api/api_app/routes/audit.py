"""/api/admin/stocks/{symbol}/log (the audit log) and the admin reads a replay compares with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api_app.audit_schemas import BookRecordOut, LogPageOut, TradeRecordPageOut
from api_app.deps import AdminDep, ServicesDep
from api_app.error_docs import ADMIN, errors
from api_app.services import Services
from exchange.usecases.audit import LOG_LIMIT, LOG_MAX, TRADES_LIMIT, TRADES_MAX, Audit

router = APIRouter(prefix="/api/admin/stocks", tags=["admin"])
_ADMIN = "Admins only (403 `forbidden` for a trader); 404 `unknown_symbol`. "
_RESPONSES = errors(*ADMIN, "unknown_symbol", "validation_error")


def _audit(svc: Services) -> Audit:
    return Audit(svc.store)


@router.get(
    "/{symbol}/log",
    response_model=LogPageOut,
    responses=_RESPONSES,
    summary="The stock's audit log",
    description=_ADMIN + "The stock's sequenced inputs exactly as the matcher took them, oldest first: "
    f"the entries with `seq` > `after` (default 0), at most `limit` (default {LOG_LIMIT}, at most "
    f"{LOG_MAX}). `next_after`: the `after` of the next page, null once the page reaches the end. "
    "Replaying the whole log through the engine alone gives the stock's trades and book "
    "(`python -m tools.replay`).",
)
def log(
    symbol: str,
    _: AdminDep,
    svc: ServicesDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=LOG_MAX)] = LOG_LIMIT,
) -> dict[str, Any]:
    page = _audit(svc).log(symbol, after, limit)
    return {"entries": page.entries, "next_after": page.next_after}


@router.get(
    "/{symbol}/trades",
    response_model=TradeRecordPageOut,
    responses=_RESPONSES,
    summary="The stock's trades with their orders",
    description=_ADMIN + "Oldest first by `seq`, those after `after`, at most `limit` (default "
    f"{TRADES_LIMIT}, at most {TRADES_MAX}), each naming its buy and sell order. "
    "`next_after` as for the log.",
)
def trades(
    symbol: str,
    _: AdminDep,
    svc: ServicesDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=TRADES_MAX)] = TRADES_LIMIT,
) -> dict[str, Any]:
    found, next_after = _audit(svc).trades(symbol, after, limit)
    return {"trades": found, "next_after": next_after}


@router.get(
    "/{symbol}/book",
    response_model=BookRecordOut,
    responses=_RESPONSES,
    summary="The orders resting in the stock's book, and its waiting stops",
    description=_ADMIN + "Every resting order with its id, user, price, remaining quantity and "
    "arrival sequence, in arrival order, and every untriggered stop order (kept outside the book) "
    "likewise (read from an index: it may lag a moment behind a batch).",
)
def book(symbol: str, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    return _audit(svc).book(symbol)
