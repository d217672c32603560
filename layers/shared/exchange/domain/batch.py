"""What one matcher commit changes, as plain values (built by the matcher use case, written by the
adapter in one conditional transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class OrderWrite:
    """The new state of one order, conditional on the state it was read in."""

    item: dict[str, Any]
    expected_status: str
    expected_filled: int
    expected_cancel_requested: bool = False


@dataclass
class CashDelta:
    available: int = 0
    reserved: int = 0


@dataclass
class HoldingWrite:
    user_id: str
    symbol: str
    available_delta: int = 0
    reserved_delta: int = 0
    cost_basis: int = 0  # new absolute value
    realized_pnl: int = 0  # new absolute value
    expected_cost_basis: int | None = None  # None: the holding did not exist when read


@dataclass
class BatchCommit:
    symbol: str
    expected_version: int  # the stored book version the batch was matched against (0: none yet)
    book: dict[str, Any]  # the new BOOK item (version = expected + 1, levels, events, next_seq)
    stock_updates: dict[str, Any] | None = None  # attributes of the STOCK item to SET
    orders: dict[str, OrderWrite] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    cash: dict[str, CashDelta] = field(default_factory=dict)
    holdings: dict[tuple[str, str], HoldingWrite] = field(default_factory=dict)

    def op_count(self) -> int:
        return (
            1
            + (1 if self.stock_updates else 0)
            + len(self.orders)
            + len(self.fills)
            + len(self.trades)
            + len(self.cash)
            + len(self.holdings)
        )
