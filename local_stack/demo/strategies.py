"""The demo traders' decisions, pure: from what a trader sees (its account, the stocks) to orders.
Money in integer cents. No I/O and no clock here: the caller passes `now`-derived ages and a seeded
random.Random, so a decision is repeatable."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MARKET_BUY_MARGIN = 1.10  # a market buy reserves up to last x 1.05 (its collar): keep a margin on that


@dataclass(frozen=True)
class Stock:
    symbol: str
    tick: int
    reference: int
    last: int | None = None
    best_bid: int | None = None
    best_ask: int | None = None
    trades: tuple[int, ...] = ()  # recent trade prices, oldest first

    @property
    def mid(self) -> int:
        if self.best_bid and self.best_ask:
            return round_to_tick((self.best_bid + self.best_ask) // 2, self.tick)
        return self.last or self.reference

    @property
    def lot(self) -> int:
        """A usual order size: about 1,000.00 worth of shares."""
        return max(1, 100_000 // max(self.reference, 1))


@dataclass(frozen=True)
class OpenOrder:
    id: str
    symbol: str
    side: str  # buy | sell
    price: int | None  # None: a market order still pending
    remaining: int
    age: float  # seconds since it was placed


@dataclass(frozen=True)
class Account:
    cash: int  # available cash
    shares: Mapping[str, int] = field(default_factory=dict)  # available shares by symbol
    open_orders: tuple[OpenOrder, ...] = ()


@dataclass(frozen=True)
class Place:
    symbol: str
    side: str
    quantity: int
    price: int | None = None  # None: a market order


@dataclass(frozen=True)
class Cancel:
    order_id: str


Action = Place | Cancel


def round_to_tick(price: int, tick: int, *, up: bool = False) -> int:
    down = price - price % tick
    return max(tick, down + tick if up and down != price else down)


def next_fair(rng: random.Random, fair: int, stock: Stock, volatility: float = 0.0008) -> int:
    """One step of a stock's fair value: a random walk (about `volatility` of the price a step), pulled
    gently back towards the reference price so that it wanders but stays in range."""
    step = rng.gauss(0, volatility * fair) + 0.01 * (stock.reference - fair)
    # in cents, not ticks: rounding each step to a coarse tick would drift it (the quotes round)
    return max(stock.tick * 10, round(fair + step))


# ---------------------------------------------------------------------------- market maker
@dataclass(frozen=True)
class MakerParams:
    spread_ticks: int = 2  # half the spread, in ticks at least (or 0.1% of fair value if larger)
    levels: int = 2  # quotes a side
    max_age: float = 30.0  # a quote older than this is cancelled and placed again


def half_spread(fair: int, stock: Stock, params: MakerParams) -> int:
    return max(params.spread_ticks * stock.tick, round_to_tick(fair // 1000, stock.tick))


def maker_quotes(fair: int, stock: Stock, params: MakerParams) -> list[Place]:
    """Two-sided quotes around `fair`: `levels` bids below it and as many asks above, a half-spread apart."""
    half = half_spread(fair, stock, params)
    quotes = []
    for level in range(1, params.levels + 1):
        bid = round_to_tick(fair - half * level, stock.tick)
        ask = round_to_tick(fair + half * level, stock.tick, up=True)
        quotes += [Place(stock.symbol, "buy", stock.lot, bid), Place(stock.symbol, "sell", stock.lot, ask)]
    return quotes


def market_maker(fair: int, stock: Stock, me: Account, params: MakerParams) -> list[Action]:
    """Keep this stock's quotes that are still near a wanted price (less than a half-spread off, on
    the right side of fair value, not too old), cancel the others, and place the missing ones."""
    half = half_spread(fair, stock, params)
    missing = maker_quotes(fair, stock, params)
    actions: list[Action] = []
    for order in sorted((o for o in me.open_orders if o.symbol == stock.symbol), key=lambda o: o.age):
        near = next(
            (
                q
                for q in missing
                if q.side == order.side
                and order.price is not None
                and abs(order.price - (q.price or 0)) < half
                and (order.price < fair if order.side == "buy" else order.price > fair)
            ),
            None,
        )
        if near is not None and order.age < params.max_age:
            missing.remove(near)
        else:
            actions.append(Cancel(order.id))
    return actions + list(missing)


# ---------------------------------------------------------------------------- noise trader
@dataclass(frozen=True)
class NoiseParams:
    market_share: float = 0.5  # of its orders, market orders; the rest limit orders near the mid
    max_offset_ticks: int = 4  # steps of 0.05% of the price
    max_open: int = 3  # open limit orders at most: the oldest beyond it are cancelled
    max_age: float = 20.0
    orders_per_turn: int = 2


def noise(rng: random.Random, stocks: Sequence[Stock], me: Account, params: NoiseParams) -> list[Action]:
    """`orders_per_turn` orders, each on a random stock and side: a market order or a limit order a few
    ticks around the mid; first, cancels of its stale open orders and of the oldest ones beyond
    `max_open` (counting the new ones)."""
    by_age = sorted(me.open_orders, key=lambda o: o.age, reverse=True)
    stale = [o for o in by_age if o.age > params.max_age]
    excess = by_age[: max(0, len(by_age) - params.max_open + params.orders_per_turn)]
    actions: list[Action] = [Cancel(o.id) for o in dict.fromkeys(stale + excess)]
    for _ in range(params.orders_per_turn):
        stock = rng.choice(stocks)
        side = rng.choice(("buy", "sell"))
        quantity = rng.randint(1, 2 * stock.lot)
        opposite = stock.best_ask if side == "buy" else stock.best_bid
        if opposite and rng.random() < params.market_share:
            actions.append(Place(stock.symbol, side, quantity))
        else:
            # mostly behind the mid, sometimes through it (a marketable limit order); in steps of
            # 0.05% of the price (a tick at least): about a quarter of a market maker's spread
            step = max(stock.tick, round_to_tick(stock.mid // 2000, stock.tick))
            offset = rng.randint(-params.max_offset_ticks, params.max_offset_ticks) * step
            price = stock.mid - offset if side == "buy" else stock.mid + offset
            actions.append(Place(stock.symbol, side, quantity, round_to_tick(price, stock.tick)))
    return actions


# ---------------------------------------------------------------------------- momentum trader
@dataclass(frozen=True)
class MomentumParams:
    window: int = 6  # the last trades it looks at
    min_ticks: int = 1  # the move, first to last trade of the window, that counts as a trend


def trend(stock: Stock, params: MomentumParams) -> int:
    """+1 rising, -1 falling, 0 flat or too few trades: the window's net move, confirmed by more
    steps in its direction than against it."""
    prices = stock.trades[-params.window :]
    if len(prices) < 3:
        return 0
    ups = sum(b > a for a, b in itertools.pairwise(prices))
    downs = sum(b < a for a, b in itertools.pairwise(prices))
    move = prices[-1] - prices[0]
    if move >= params.min_ticks * stock.tick and ups > downs:
        return 1
    if move <= -params.min_ticks * stock.tick and downs > ups:
        return -1
    return 0


def momentum(stocks: Sequence[Stock], me: Account, params: MomentumParams) -> list[Action]:
    """A market order with the strongest trend (buy after rising trades, sell after falling ones), if any."""
    moves = [
        (abs(s.trades[-1] - s.trades[-params.window :][0]) / s.reference, s)
        for s in stocks
        if trend(s, params)
    ]
    if not moves:
        return []
    _, stock = max(moves, key=lambda m: m[0])
    side = "buy" if trend(stock, params) > 0 else "sell"
    opposite = stock.best_ask if side == "buy" else stock.best_bid
    if not opposite:
        return []
    return [Place(stock.symbol, side, stock.lot)]


# ---------------------------------------------------------------------------- the money rules
def affordable(actions: Iterable[Action], me: Account, stocks: Mapping[str, Stock]) -> list[Action]:
    """The actions the API will not refuse for funds: buys within the available cash (a market buy at
    its collar's worst, with a margin), sells within the available shares, counted in order. Cancels
    always pass (they free what they held only later, so they are not counted in)."""
    cash = me.cash
    shares = dict(me.shares)
    kept: list[Action] = []
    for action in actions:
        if isinstance(action, Place):
            if action.side == "buy":
                stock = stocks[action.symbol]
                price = action.price or int((stock.last or stock.reference) * MARKET_BUY_MARGIN) + stock.tick
                cost = price * action.quantity
                if cost > cash:
                    continue
                cash -= cost
            else:
                if action.quantity > shares.get(action.symbol, 0):
                    continue
                shares[action.symbol] -= action.quantity
        kept.append(action)
    return kept
