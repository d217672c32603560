"""The small working records of settlement (no I/O): a holding as read plus what the current commit
changes, and a settled commit with the events it announces (:mod:`exchange.domain.ledger` keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from exchange.domain.batch import BatchCommit
from exchange.domain.records import Holding
from exchange.domain.steps import Event


@dataclass
class WorkingHolding:
    """A holding as read or last written, and what the current commit changes."""

    base: Holding
    available_delta: int = 0
    reserved_delta: int = 0
    cost_basis: int = 0
    realized_pnl: int = 0

    @classmethod
    def of(cls, h: Holding) -> WorkingHolding:
        return cls(h, cost_basis=h.cost_basis, realized_pnl=h.realized_pnl)

    def held(self) -> int:
        return self.base.available + self.base.reserved + self.available_delta + self.reserved_delta

    def written(self) -> Holding:
        b = self.base
        return Holding(
            b.user_id,
            b.symbol,
            b.available + self.available_delta,
            b.reserved + self.reserved_delta,
            self.cost_basis,
            self.realized_pnl,
            exists=True,
        )


@dataclass
class Commit:
    """A settled commit and the events it announces."""

    batch: BatchCommit
    events: list[Event] = field(default_factory=list)
    started: int = 0  # the batch's steps begun by the end of this commit (the audit log's cut)
