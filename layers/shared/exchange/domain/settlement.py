"""Settlement: the money rules of the matcher's fills and cancels, on working copies (no I/O).

A :class:`Ledger` starts from what the matcher read (the messages' orders and their makers, the
holdings of everyone involved, the stock, the stored book) and applies the engine's events one by
one (:mod:`exchange.domain.ledger`). :func:`settle` walks the steps of one batch and cuts them into
commits: between two inputs' units (an input and the stops it triggers) once a commit holds
``FLUSH_AT_OPS`` operations, and inside one order's fills only when the next fill would pass
``MAX_OPS`` (the order is then written as still ``pending`` and named on the BOOK item, so a
redelivery resumes it first). What a commit wrote becomes the baseline of the next; what was only
read stays as read.
"""

from __future__ import annotations

from exchange.domain.batch import MAX_OPS, after_fills
from exchange.domain.engine import Cancelled, Fill, Rested
from exchange.domain.ledger import FLUSH_AT_OPS, Commit, Ledger
from exchange.domain.steps import Levels, Step
from exchange.domain.stops import Armed

__all__ = ["Commit", "Ledger", "settle"]


def settle(ledger: Ledger, steps: list[Step]) -> list[Commit]:
    """The batch's commits, in order (each one conditional on the one before)."""
    commits: list[Commit] = []
    for i, step in enumerate(steps):
        before = steps[i - 1].levels if i else ledger.levels
        # an input and the stops it triggers are one unit: cut only between units (or, past
        # MAX_OPS, inside an order's fills: that order is then resumed first by a redelivery)
        if ledger.ops() >= FLUSH_AT_OPS and (i == 0 or steps[i - 1].unit != step.unit):
            commits.append(ledger.take_commit(before, partial=bool(i) and steps[i - 1].partial))
            commits[-1].started = i
        cut = len(commits)
        _apply(ledger, step, before, commits)
        for c in commits[cut:]:  # a sweep split over commits: each holds part of this step
            c.started = i + 1
    if ledger.has_changes():
        commits.append(ledger.take_commit(steps[-1].levels))
        commits[-1].started = len(steps)
    return commits


def _apply(ledger: Ledger, step: Step, before: Levels, commits: list[Commit]) -> None:
    """One message; ``before``: the book's snapshot after the messages before it."""
    oid = step.order_id
    if step.status is not None:
        ledger.set_status(step.status)
        return
    if step.reject_reason is not None:
        ledger.reject(oid, step.seq, step.reject_reason)
        return
    if step.accept:
        ledger.accept(oid, step.seq)
    if step.trigger_price is not None:
        ledger.trigger(oid, step.seq)
    if step.resumed:
        ledger.resume(oid)
    if step.cancel_reason is not None:
        ledger.cancel_remainder(oid, step.cancel_reason)
        return
    moving = step.accept or step.trigger_price is not None or step.resumed
    ledger.in_flight, ledger.in_flight_seq = (oid if moving else None), step.seq
    done: list[Fill] = []  # this order's fills applied so far
    for ev in step.events:
        if isinstance(ev, Fill):
            users = (ledger.orders[ev.taker_id].user_id, ledger.orders[ev.maker_id].user_id)
            if ledger.ops((ev.taker_id, ev.maker_id), users, fills=1) > MAX_OPS:
                # this order's fills need another transaction; its snapshot: the book as it then is
                levels = after_fills(before, done, maker_side=1 if ledger.orders[oid].is_buy else 0)
                commits.append(ledger.take_commit(levels, partial=True))
            ledger.fill(ev.taker_id, ev.maker_id, ev.price, ev.qty, ev.maker_remaining)
            done.append(ev)
        elif isinstance(ev, Rested):
            ledger.rest(oid, step.seq)
        elif isinstance(ev, Armed):
            ledger.arm(oid, step.seq)
        elif isinstance(ev, Cancelled):
            ledger.cancel_remainder(oid, ev.reason, ev.remaining_qty)
    ledger.in_flight = None
