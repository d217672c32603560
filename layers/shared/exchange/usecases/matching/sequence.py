"""The matcher's engine part (no I/O): one stock's sequenced inputs through its :class:`Market`,
cut into :class:`Step` values for settlement.

An input (a new order, a cancel, an expiry, a halt or a resume) and the stop orders its trades
trigger (a cascade included) are one *unit*: the input's own step, then one step per triggered stop
in the order they entered the book (``by_order``). Settlement commits a unit whole, or, past one
transaction's size, inside an order's fills with that order resumed first by a redelivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from exchange.domain.batch import advance_levels
from exchange.domain.engine import BUY, SELL
from exchange.domain.market import HALTED, Market, MarketEvent, Rejected, by_order
from exchange.domain.records import Order, OrderStatus
from exchange.domain.steps import Levels, Step
from exchange.domain.stops import Armed, StopOrder, Triggered, condition_met
from exchange.observability import logger

SNAPSHOT_DEPTH = 100
NO_LEVELS: Levels = ([], [])  # a step's levels before they are known
CONTROL = ("halt", "resume")  # messages about the stock, not about an order


@dataclass(frozen=True)
class Message:
    kind: str  # new | cancel | expire | halt | resume
    symbol: str
    order_id: str  # a halt's or resume's: the request's id
    user_id: str
    reason: str | None = None  # a halt's or resume's


class StockMarket(Market):
    """A :class:`Market` with what the matcher needs beside it: each waiting stop's owner and side
    (a triggered stop's order is read with the makers), and the stored stops that a cut inside a
    cascade left waiting although the last price meets them (they enter first, in trigger order)."""

    def __init__(self, symbol: str, last_price: int | None = None) -> None:
        super().__init__(symbol, last_price)
        self.stop_owners: dict[str, tuple[str, bool]] = {}  # order id -> (user id, is buy)
        self.overdue: list[Order] = []


def stop_of(o: Order) -> StopOrder:
    """A stored stop order as the engine's: ``price`` is a stop's price_bound, a stop-limit's limit."""
    return StopOrder(
        o.id,
        o.user_id,
        BUY if o.is_buy else SELL,
        o.remaining_quantity,
        _stop(o),
        o.price,
        o.tif,
        o.order_type == "stop",
    )


def rebuild(
    symbol: str, stored: Iterable[Order], last_price: int | None, halted: bool, version: int
) -> StockMarket:
    """The market the stored open orders describe (arrival order): the resting ones in the book, the
    waiting stops outside it; a waiting stop the last price already meets is ``overdue`` (a split
    commit inside a cascade stored it before it entered). ``ValueError`` if they make no book."""
    resting, stops, overdue = [], [], []
    for o in stored:
        if not o.waiting:
            resting.append((o.id, o.user_id, BUY if o.is_buy else SELL, o.price, o.remaining_quantity))
        elif last_price is not None and condition_met(BUY if o.is_buy else SELL, _stop(o), last_price):
            overdue.append(o)
        else:
            stops.append(stop_of(o))
    market = StockMarket.rebuild(symbol, resting, stops, last_price, halted, version)
    assert isinstance(market, StockMarket)
    market.stop_owners = {s.order_id: (s.user_id, s.side == BUY) for s in stops}
    # the order they would have triggered in: buy stops lowest first, then sells highest first
    market.overdue = sorted(
        overdue, key=lambda o: (not o.is_buy, (_stop(o)) * (1 if o.is_buy else -1), o.book_seq or 0)
    )
    return market


def _stop(o: Order) -> int:
    assert o.stop_price is not None, f"stop order {o.id} has no stop_price"
    return o.stop_price


def levels(market: Market) -> Levels:
    bids, asks = market.book.depth(SNAPSHOT_DEPTH)
    return [list(x) for x in bids], [list(x) for x in asks]


@dataclass
class _Sequencer:
    market: StockMarket
    next_seq: int
    initial: Levels  # the book's snapshot before the first input (as stored)
    steps: list[Step] = field(default_factory=list)
    unit: int = 0

    def take_seq(self) -> int:
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        return seq

    def unit_steps(self, o: Order, events: list[MarketEvent], first: Step | None) -> None:
        """The steps of one input's events: ``first`` for its own order's segment (None: it has no
        step of its own), then one per triggered stop."""
        self.unit += 1
        market = self.market
        segments = by_order(events)
        lv = self.steps[-1].levels if self.steps else self.initial
        for j, (oid, evs) in enumerate(segments):
            last = j == len(segments) - 1
            head, rest = evs[0], list(evs[1:])
            if type(head) is Triggered:
                owner = market.stop_owners.pop(oid, None)  # none: the input itself, triggered at once
                user, is_buy = owner if owner is not None else (o.user_id, o.is_buy)
                lv = levels(market) if last else advance_levels(lv, rest, is_buy)
                step = Step(oid, rest, lv, seq=self.take_seq(), trigger_price=head.price, user_id=user)  # type: ignore[arg-type]
            else:
                if first is None:
                    continue
                if rest and type(rest[0]) is Armed:
                    market.stop_owners[oid] = (o.user_id, o.is_buy)
                lv = levels(market) if last else advance_levels(lv, rest, o.is_buy)
                step = first
                step.events, step.levels = rest, lv  # type: ignore[assignment]
            step.unit, step.partial = self.unit, not last
            self.steps.append(step)

    def submit(self, o: Order, first: Step) -> None:
        """A new (or resumed) order of any type into the market."""
        market, side = self.market, BUY if o.is_buy else SELL
        events: list[MarketEvent]
        if o.waiting:
            events = market.submit_stop(
                o.id,
                o.user_id,
                side,
                o.remaining_quantity,
                _stop(o),
                o.price,
                o.tif,
                is_market=o.order_type == "stop",
            )
        else:
            is_market = o.order_type in ("market", "stop")
            tif = "ioc" if is_market else o.tif
            events = market.submit(o.id, o.user_id, side, o.remaining_quantity, o.price, tif, is_market)
        if type(events[0]) is Rejected:
            self.unit += 1
            self.steps.append(
                Step(o.id, [], levels(market), seq=first.seq, reject_reason=events[0].reason, unit=self.unit)
            )
            return
        self.unit_steps(o, events, first)


def match_messages(
    market: StockMarket,
    messages: list[Message],
    orders: dict[str, Order],
    next_seq: int,
    day_over: Callable[[int], bool] = lambda _: False,
    resume: tuple[Order, int] | None = None,
    initial: Levels | None = None,
) -> list[Step]:
    """What each input did to the market, in order: first the order a split commit left mid-fills
    (``resume``: it and its arrival seq), then the overdue stops, then the messages. ``day_over``:
    has the trading day of this instant closed? (a day order taken after its day expires untraded)
    ``initial``: the stored snapshot the market shows before them (default: its depth now)."""
    seq = _Sequencer(market, next_seq, initial if initial is not None else levels(market))
    taken: set[str] = set()
    if resume is not None:
        flying, at = resume
        taken.add(flying.id)
        seq.submit(flying, Step(flying.id, [], NO_LEVELS, seq=at, resumed=True))
    for late in market.overdue:
        market.stop_owners[late.id] = (late.user_id, late.is_buy)
        stop = stop_of(late)
        events = market.submit_stop(*stop[:5], stop.price, stop.tif, stop.is_market)
        seq.unit_steps(late, events, None)
    market.overdue = []
    for m in messages:
        if m.kind in CONTROL:
            changed = market.halt() if m.kind == "halt" else market.resume()
            if changed:
                seq.unit += 1
                status = HALTED if m.kind == "halt" else "trading"
                seq.steps.append(Step(m.order_id, [], levels(market), status=status, unit=seq.unit))
            continue
        o = orders.get(m.order_id)
        if o is None:
            continue  # unknown
        if o.symbol != m.symbol:
            logger.error("message for an order of another stock ignored", order_id=o.id, symbol=m.symbol)
            continue
        if m.kind == "new":
            if o.status != OrderStatus.PENDING or o.id in taken or o.triggered_at is not None:
                continue  # already taken (an earlier delivery, twice in this batch, or being resumed)
            taken.add(o.id)
            at = seq.take_seq()
            if o.cancel_requested or (o.tif == "day" and day_over(o.created_at)):
                reason = "user" if o.cancel_requested else "expired"
                seq.unit += 1
                seq.steps.append(
                    Step(o.id, [], levels(market), accept=True, seq=at, cancel_reason=reason, unit=seq.unit)
                )
                continue
            seq.submit(o, Step(o.id, [], NO_LEVELS, accept=True, seq=at))
        elif m.kind in ("cancel", "expire"):
            reason = "expired" if m.kind == "expire" else "user"
            cancelled = market.cancel(o.id, reason) if o.id in market else None
            if cancelled is not None:
                market.stop_owners.pop(o.id, None)
                seq.unit += 1
                seq.steps.append(Step(o.id, [cancelled], levels(market), unit=seq.unit))
        else:
            logger.warning("unknown message kind ignored", kind=m.kind, order_id=m.order_id)
    return seq.steps
