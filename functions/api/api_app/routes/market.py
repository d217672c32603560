"""/api/stocks: public market data (no token needed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api_app import caching
from api_app.deps import ServicesDep
from api_app.error_docs import errors
from api_app.schemas import CandleListOut, OrderBookOut, StockListOut, StockOut, TradeListOut
from exchange.domain.errors import ValidationFailed
from exchange.ids import parse_iso

router = APIRouter(prefix="/api/stocks", tags=["market data"])
_PUBLIC = "Public: no token needed. "


@router.get(
    "",
    response_model=StockListOut,
    dependencies=[caching.public(1)],
    summary="All listed stocks",
    description=_PUBLIC + "Each stock with its tick_size, last and reference price, the current trading "
    "day's open/high/low/volume (UTC, reset at the configured close), change_percent and best bid/ask.",
)
def list_stocks(svc: ServicesDep) -> dict[str, Any]:
    return {"stocks": svc.market.stocks()}


@router.get(
    "/{symbol}",
    response_model=StockOut,
    dependencies=[caching.public(1)],
    responses=errors("unknown_symbol"),
    summary="One stock",
    description=_PUBLIC + "`last_price` is null until the stock's first trade; `change_percent` = (last "
    "- reference) / reference x 100. Right after an order is placed it may not have moved yet: matching "
    "is asynchronous (see POST /api/orders).",
)
def get_stock(symbol: str, svc: ServicesDep) -> dict[str, Any]:
    return svc.market.stock(symbol)


@router.get(
    "/{symbol}/orderbook",
    response_model=OrderBookOut,
    dependencies=[caching.public(1)],
    responses=errors("unknown_symbol", "validation_error"),
    summary="The stock's order book",
    description=_PUBLIC + "Price levels `{price, quantity, orders}`, bids high to low and asks low to "
    "high, `depth` levels a side (default 10, at most 100: more is 422). `sequence` is the book's "
    "version: it grows by one with every matcher batch that changed the book.",
)
def orderbook(
    symbol: str, svc: ServicesDep, depth: Annotated[int, Query(ge=1, le=100)] = 10
) -> dict[str, Any]:
    return svc.market.orderbook(symbol, depth)


@router.get(
    "/{symbol}/trades",
    response_model=TradeListOut,
    dependencies=[caching.public(1)],
    responses=errors("unknown_symbol", "validation_error"),
    summary="The stock's latest trades",
    description=_PUBLIC + "Newest first, `limit` trades (default 50, at most 500). A trade names no user: "
    "`aggressor_side` is the side of the incoming order.",
)
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


@router.get(
    "/{symbol}/candles",
    response_model=CandleListOut,
    dependencies=[caching.public(caching.candles_max_age)],
    responses=errors("unknown_symbol", "validation_error", "temporarily_unavailable"),
    summary="The stock's candles (OHLCV)",
    description=_PUBLIC + "Oldest first, only intervals that had trades. `interval` 1m, 5m, 1h or 1d; "
    "`from` and `to` ISO-8601 times (default `to` = now, `from` = `to` - 100 intervals); `from` after "
    "`to` is 422. Each candle is the whole interval that overlaps [from, to]. 503 "
    "`temporarily_unavailable` only while a stock's older candles are still being prepared: retry.",
)
def candles(
    symbol: str,
    svc: ServicesDep,
    interval: Literal["1m", "5m", "1h", "1d"] = "1m",
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    start, end = _window(from_, to)
    return {"candles": svc.market.candles(symbol, interval, start, end)}
