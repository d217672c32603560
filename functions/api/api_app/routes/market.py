"""/api/stocks: public market data (no token needed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api_app.deps import ServicesDep
from api_app.schemas import CandleListOut, ErrorEnvelope, OrderBookOut, StockListOut, StockOut, TradeListOut
from exchange.domain.errors import ValidationFailed
from exchange.ids import parse_iso

router = APIRouter(prefix="/api/stocks", tags=["market data"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorEnvelope} for c in (404, 422)}


@router.get("", response_model=StockListOut)
def list_stocks(svc: ServicesDep) -> dict[str, Any]:
    return {"stocks": svc.market.stocks()}


@router.get("/{symbol}", response_model=StockOut, responses=ERRORS)
def get_stock(symbol: str, svc: ServicesDep) -> dict[str, Any]:
    return svc.market.stock(symbol)


@router.get("/{symbol}/orderbook", response_model=OrderBookOut, responses=ERRORS)
def orderbook(
    symbol: str, svc: ServicesDep, depth: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    return svc.market.orderbook(symbol, depth)


@router.get("/{symbol}/trades", response_model=TradeListOut, responses=ERRORS)
def trades(symbol: str, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    return {"trades": svc.market.trades(symbol, limit)}


def _time(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"{name} is not an ISO-8601 time",
            details=[{"loc": ["query", name], "msg": "invalid time", "type": "datetime_parsing"}],
        ) from exc


def _window(from_: str | None, to: str | None) -> tuple[int | None, int | None]:
    start, end = _time("from", from_), _time("to", to)
    if start is not None and end is not None and start > end:
        raise ValidationFailed(
            "from is after to",
            details=[{"loc": ["query", "from"], "msg": "must not be after to", "type": "time_order"}],
        )
    return start, end


@router.get("/{symbol}/candles", response_model=CandleListOut, responses=ERRORS)
def candles(
    symbol: str,
    svc: ServicesDep,
    interval: Literal["1m", "5m", "1h", "1d"] = "1m",
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    start, end = _window(from_, to)
    return {"candles": svc.market.candles(symbol, interval, start, end)}
