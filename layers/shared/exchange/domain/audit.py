"""The audit log's part of a matcher batch (pure): which of the batch's steps the engine was given
as a sequenced input, and which commit records each (the one that commits the start of its effects,
so the log never disagrees with the state). See docs/engine.md "Wiring it"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exchange.domain.batch import LogInput
from exchange.domain.engine import EXPIRED, USER, Cancelled
from exchange.domain.market import HALTED
from exchange.domain.records import Order
from exchange.domain.settlement import Commit
from exchange.domain.steps import Step

_CANCELS = {USER: "cancel", EXPIRED: "expire"}  # a cancel step's engine reason -> the log's kind


def step_input(step: Step, orders: Mapping[str, Order]) -> tuple[str, Order | None, str | None] | None:
    """``(kind, order, order_id)`` of the input the engine was given for ``step``, or ``None``:
    an order finished without the engine (cancelled before it was taken, a day order taken after
    its close), or one resumed after a split sweep (filled before: the commit that started it
    recorded its ``new``). ``orders``: as the batch read them."""
    if step.status is not None:  # a halt or a resume that changed the stock's status
        return ("halt" if step.status == HALTED else "resume"), None, None
    if step.reject_reason is not None:  # a new order the halted engine was given and refused
        rejected = orders.get(step.order_id)
        return None if rejected is None else ("new", rejected, None)
    if step.accept:
        o = orders.get(step.order_id)
        if step.cancel_reason is not None or o is None or o.filled_quantity > 0:
            return None
        return "new", o, None
    first = step.events[0] if step.events else None
    if isinstance(first, Cancelled) and first.reason in _CANCELS:
        return _CANCELS[first.reason], None, step.order_id
    return None


def attach_log(
    commits: Sequence[Commit], steps: Sequence[Step], orders: Mapping[str, Order], at: int, last_seq: int
) -> int:
    """Put each input's entry (seq ``last_seq + 1``, ... gapless) on the commit that begins its
    step and every commit's ``log_seq`` on its book write; the last seq written."""
    inputs = [step_input(s, orders) for s in steps]
    begun = 0
    for n, c in enumerate(commits):
        upto = len(steps) if n == len(commits) - 1 else c.started  # trailing steps go with the last
        for kind, order, order_id in (x for x in inputs[begun:upto] if x is not None):
            last_seq += 1
            c.batch.log.append(LogInput(last_seq, kind, at, order, order_id))
        begun = max(begun, upto)
        c.batch.book.log_seq = last_seq
    return last_seq
