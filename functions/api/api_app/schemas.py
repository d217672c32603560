"""Request and response bodies of the contract (../shared/API.md), for validation and OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from exchange.domain.money import MAX_AMOUNT_CENTS, MONEY_STRING_PATTERN, MoneyFormatError, to_cents


def _cents(value: Any) -> int:
    try:
        return to_cents(value, exact_string=True)
    except MoneyFormatError as exc:
        raise ValueError(str(exc)) from exc


def _tick_cents(value: Any) -> int:
    try:
        return to_cents(value, exact_string=True)
    except MoneyFormatError as exc:
        raise ValueError(
            f'{exc}: a tick_size is a whole number of cents, at least "0.01" (then "0.05", "0.10", ...)'
        ) from exc


def _money_in_schema(description: str, example: str) -> dict[str, Any]:
    """What the api accepts for an amount, exactly: the contract's string, or a JSON number (whose
    decimals beyond the cent, and whose tick, the document cannot say: a 422 tells)."""
    return {
        "anyOf": [
            {"type": "string", "pattern": MONEY_STRING_PATTERN, "examples": [example]},
            {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_AMOUNT_CENTS / 100},
        ],
        "description": description,
        "examples": [example],
    }


_PRICE_DOC = (
    'A positive amount: a decimal string with at most two decimals ("101.25"), or a JSON number with '
    "at most two decimals (101.25). A price must also be a multiple of the stock's tick_size (422 otherwise)."
)
PriceIn = Annotated[int, BeforeValidator(_cents), WithJsonSchema(_money_in_schema(_PRICE_DOC, "101.25"))]
TickIn = Annotated[
    int,
    BeforeValidator(_tick_cents),
    WithJsonSchema(
        _money_in_schema(
            'The price step of the stock, as money ("0.01" = one cent, the smallest; "0.05" = five).',
            "0.01",
        )
    ),
]
Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["101.25"])]
Tick = Annotated[str, Field(pattern=r"^\d+\.\d{2}$", examples=["0.01"])]
Percent = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["1.50"])]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,8}$")]
SafeText = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


# ---------------------------------------------------------------- auth
class RegisterIn(Strict):
    email: EmailStr
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]
    display_name: SafeText | None = None


class LoginIn(Strict):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str | None
    role: Literal["trader", "admin"]
    created_at: str


class SessionOut(BaseModel):
    user: UserOut
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    csrf_token: str


# ---------------------------------------------------------------- orders
class OrderIn(Strict):
    symbol: Symbol
    side: Literal["buy", "sell"]
    type: Literal["limit", "market", "stop", "stop_limit"]
    quantity: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]
    limit_price: PriceIn | None = None
    stop_price: PriceIn | None = None
    time_in_force: Literal["gtc", "day", "ioc", "fok"] | None = None
    client_order_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None

    @model_validator(mode="after")
    def _type_rules(self) -> OrderIn:
        if self.type in ("stop", "stop_limit"):
            if self.stop_price is None:
                raise ValueError(f"stop_price is required for a {self.type} order")
            if self.type == "stop_limit" and self.limit_price is None:
                raise ValueError("limit_price is required for a stop_limit order")
            if self.type == "stop" and self.limit_price is not None:
                raise ValueError("limit_price is not allowed for a stop order")
            if self.time_in_force not in (None, "gtc", "day"):
                raise ValueError("a stop order takes time_in_force gtc or day")
            self.time_in_force = self.time_in_force or "gtc"
            return self
        if self.stop_price is not None:
            raise ValueError(f"stop_price is not allowed for a {self.type} order")
        if self.type == "limit":
            if self.limit_price is None:
                raise ValueError("limit_price is required for a limit order")
            if self.time_in_force is None:
                self.time_in_force = "gtc"
        else:
            if self.limit_price is not None:
                raise ValueError("limit_price is not allowed for a market order")
            if self.time_in_force not in (None, "ioc"):
                raise ValueError("a market order takes only time_in_force ioc")
            self.time_in_force = "ioc"
        return self


class FillOut(BaseModel):
    trade_id: str
    price: Money
    quantity: int
    liquidity: Literal["maker", "taker"]
    executed_at: str


class OrderOut(BaseModel):
    id: str
    client_order_id: str | None
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["limit", "market", "stop", "stop_limit"]
    time_in_force: Literal["gtc", "day", "ioc", "fok"]
    quantity: int
    limit_price: Money | None
    filled_quantity: int
    remaining_quantity: int
    average_fill_price: Money | None
    status: Literal["pending", "open", "partially_filled", "filled", "cancelled", "expired", "rejected"]
    cancel_requested: bool
    reserved_cash: Money
    reserved_quantity: int
    price_bound: Money | None
    cancel_reason: str | None
    stop_price: Money | None
    triggered_at: str | None
    reject_reason: Literal["halted"] | None
    created_at: str
    updated_at: str
    fills: list[FillOut] | None = None


class OrderListOut(BaseModel):
    orders: list[OrderOut]
    next_cursor: str | None


# ---------------------------------------------------------------- market
class LevelOut(BaseModel):
    price: Money
    quantity: int
    orders: int


class OrderBookOut(BaseModel):
    symbol: str
    bids: list[LevelOut]
    asks: list[LevelOut]
    sequence: int
    timestamp: str | None


class StockOut(BaseModel):
    symbol: str
    name: str
    tick_size: Tick
    last_price: Money | None
    reference_price: Money
    open: Money | None
    high: Money | None
    low: Money | None
    volume: int
    change_percent: Percent | None
    best_bid: Money | None
    best_ask: Money | None
    status: Literal["trading", "halted"]
    updated_at: str


class StockListOut(BaseModel):
    stocks: list[StockOut]


class TradeOut(BaseModel):
    id: str
    price: Money
    quantity: int
    aggressor_side: Literal["buy", "sell"]
    executed_at: str


class TradeListOut(BaseModel):
    trades: list[TradeOut]


class CandleOut(BaseModel):
    start: str
    open: Money
    high: Money
    low: Money
    close: Money
    volume: int


class CandleListOut(BaseModel):
    candles: list[CandleOut]


# ---------------------------------------------------------------- portfolio
class CashOut(BaseModel):
    available: Money
    reserved: Money
    total: Money


class HoldingOut(BaseModel):
    symbol: str
    quantity: int
    available_quantity: int
    reserved_quantity: int
    average_cost: Money
    last_price: Money | None
    market_value: Money
    unrealized_pnl: Money


class PortfolioOut(BaseModel):
    cash: CashOut
    holdings: list[HoldingOut]
    realized_pnl: Money
    equity: Money


class UserFillOut(FillOut):
    order_id: str
    symbol: str
    side: Literal["buy", "sell"]


class FillListOut(BaseModel):
    fills: list[UserFillOut]
    next_cursor: str | None


# ---------------------------------------------------------------- admin
class StockIn(Strict):
    symbol: Symbol
    name: SafeText
    reference_price: PriceIn
    tick_size: TickIn = Field(default="0.01", validate_default=True)

    @model_validator(mode="after")
    def _tick(self) -> StockIn:
        if self.reference_price % self.tick_size:
            raise ValueError("reference_price must be a multiple of tick_size")
        return self


class DepositIn(Strict):
    amount: PriceIn


class GrantIn(Strict):
    symbol: Symbol
    quantity: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]


class HaltIn(Strict):
    reason: SafeText | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    faults: dict[str, int] | None = None  # local stack only: injections per configured fault
