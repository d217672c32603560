"""/api/admin: list a stock, deposit cash, grant shares, halt and resume a stock (role admin)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status

from api_app.deps import AdminDep, ServicesDep
from api_app.error_docs import ADMIN, BODY, errors
from api_app.schemas import CashOut, DepositIn, GrantIn, HaltIn, HoldingOut, StockIn, StockOut, Symbol
from exchange.views import cash_view, holding_view

router = APIRouter(prefix="/api/admin", tags=["admin"])
_ADMIN = "Admins only (403 `forbidden` for a trader). "


@router.post(
    "/stocks",
    status_code=status.HTTP_201_CREATED,
    response_model=StockOut,
    responses=errors(*BODY, *ADMIN, "stock_exists", "temporarily_unavailable"),
    summary="List a new stock for trading",
    description=_ADMIN + "Creates the stock and its empty book. `symbol`: 1 to 8 capital letters; "
    '`tick_size` (default "0.01") is the price step every order of the stock must keep to; '
    "`reference_price` (a multiple of the tick) prices market orders' collars until the first trade. "
    "409 `stock_exists` if the symbol is taken.",
)
def list_stock(body: StockIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    svc.admin.list_stock(body.symbol, body.name, body.reference_price, body.tick_size)
    return svc.market.stock(body.symbol)


@router.post(
    "/users/{user_id}/deposit",
    response_model=CashOut,
    responses=errors(*BODY, *ADMIN, "not_found", "temporarily_unavailable"),
    summary="Deposit cash to a user",
    description=_ADMIN + "Adds `amount` (positive money) to the user's available cash and answers the "
    "user's cash `{available, reserved, total}`. 404 `not_found`: no such user.",
)
def deposit(user_id: str, body: DepositIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    return cash_view(svc.admin.deposit(user_id, body.amount))


@router.post(
    "/users/{user_id}/grant",
    response_model=HoldingOut,
    responses=errors(*BODY, *ADMIN, "not_found", "unknown_symbol", "temporarily_unavailable"),
    summary="Grant shares to a user",
    description=_ADMIN + "Adds `quantity` shares of `symbol` to the user's available shares, counted "
    "at the stock's reference price in the average cost, and answers the holding. 404 `not_found` (no "
    "such user) or `unknown_symbol`.",
)
def grant(user_id: str, body: GrantIn, _: AdminDep, svc: ServicesDep) -> dict[str, Any]:
    holding, stock = svc.admin.grant(user_id, body.symbol, body.quantity)
    return holding_view(holding, stock.get("last_price"), int(stock["reference_price"]))


_STATUS = (
    "The {what} travels through the stock's sequence like an order: every order sequenced before it "
    "is handled as before, every one after it {after}. 202 with the `Stock` as stored at the time of "
    "the request: its `status` changes when the matcher takes the {what} (locally within a fraction of "
    "a second; poll `GET /api/stocks/{{symbol}}`). Body `{{reason?}}` (optional, at most 100 "
    "characters, logged). 404 `unknown_symbol`."
)


def _set_trading(
    kind: Literal["halt", "resume"], symbol: str, body: HaltIn | None, p: Any, svc: Any
) -> dict[str, Any]:
    svc.admin.set_trading(p.user_id, symbol, kind, body.reason if body else None)
    return svc.market.stock(symbol)  # type: ignore[no-any-return]


@router.post(
    "/stocks/{symbol}/halt",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StockOut,
    responses=errors(*BODY, *ADMIN, "unknown_symbol", "temporarily_unavailable"),
    summary="Halt trading in a stock",
    description=_ADMIN
    + _STATUS.format(
        what="halt",
        after="is refused (`POST /api/orders` answers 409 `stock_halted` once the api has read the "
        "halted stock; an order it accepted before is `rejected` with `reject_reason: \"halted\"`, its "
        "reservation released). Resting orders stay, cancels work, stop orders do not trigger",
    ),
)
def halt(symbol: Symbol, p: AdminDep, svc: ServicesDep, body: HaltIn | None = None) -> dict[str, Any]:
    return _set_trading("halt", symbol, body, p, svc)


@router.post(
    "/stocks/{symbol}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StockOut,
    responses=errors(*BODY, *ADMIN, "unknown_symbol", "temporarily_unavailable"),
    summary="Resume trading in a halted stock",
    description=_ADMIN + _STATUS.format(what="resume", after="trades again (a stock not halted: no change)"),
)
def resume(symbol: Symbol, p: AdminDep, svc: ServicesDep, body: HaltIn | None = None) -> dict[str, Any]:
    return _set_trading("resume", symbol, body, p, svc)
