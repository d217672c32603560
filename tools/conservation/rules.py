"""The money rules of the contract (../shared/API.md, "Reservation and settlement"), checked on one
snapshot of the exchange table. Each rule yields a Violation naming the ids involved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tools.conservation.records import FINAL, NON_FINAL, Level, Order, Snapshot

SNAPSHOT_DEPTH = 100  # levels per side the matcher stores in the BOOK item


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        ids = f" [{', '.join(self.ids)}]" if self.ids else ""
        return f"{self.rule}: {self.message}{ids}"


Rule = Callable[[Snapshot], Iterator[Violation]]


def cash_conserved(s: Snapshot) -> Iterator[Violation]:
    missing = [c.user_id for c in s.cash.values() if c.initial is None]
    if missing:
        yield Violation(
            "cash_ledger_missing", f"{len(missing)} cash accounts have no 'initial'", tuple(missing)
        )
        return
    total = sum(c.available + c.reserved for c in s.cash.values())
    expected = sum((c.initial or 0) + c.deposited for c in s.cash.values())
    if total != expected:
        yield Violation(
            "cash_conserved",
            f"total cash {total} != starting cash + deposits {expected} (diff {total - expected})",
        )


def shares_conserved(s: Snapshot) -> Iterator[Violation]:
    held: dict[str, int] = defaultdict(int)
    granted: dict[str, int] = defaultdict(int)
    for h in s.holdings.values():
        held[h.symbol] += h.available + h.reserved
        granted[h.symbol] += h.granted
    for symbol in sorted(held):
        if held[symbol] != granted[symbol]:
            yield Violation(
                "shares_conserved",
                f"{symbol}: {held[symbol]} shares held != {granted[symbol]} granted",
                (symbol,),
            )


def no_negative_balance(s: Snapshot) -> Iterator[Violation]:
    for c in s.cash.values():
        if c.available < 0 or c.reserved < 0:
            yield Violation(
                "negative_balance", f"cash available {c.available}, reserved {c.reserved}", (c.user_id,)
            )
    for h in s.holdings.values():
        if h.available < 0 or h.reserved < 0:
            yield Violation(
                "negative_balance",
                f"{h.symbol} shares available {h.available}, reserved {h.reserved}",
                (h.user_id, h.symbol),
            )
    for o in s.orders.values():
        if o.reserved_cash < 0 or o.reserved_quantity < 0 or o.remaining < 0 or o.filled < 0:
            yield Violation(
                "negative_balance",
                f"order reserved_cash {o.reserved_cash}, reserved_quantity {o.reserved_quantity}, "
                f"filled {o.filled}, remaining {o.remaining}",
                (o.id,),
            )


def reservations_match_orders(s: Snapshot) -> Iterator[Violation]:
    cash: dict[str, int] = defaultdict(int)
    shares: dict[tuple[str, str], int] = defaultdict(int)
    for o in s.orders.values():
        if o.status in NON_FINAL:
            cash[o.user_id] += o.reserved_cash
            shares[(o.user_id, o.symbol)] += o.reserved_quantity
    for uid in sorted(set(cash) | set(s.cash)):
        stored = s.cash[uid].reserved if uid in s.cash else 0
        if stored != cash[uid]:
            yield Violation(
                "reserved_cash",
                f"account reserves {stored}, its non-final orders {cash[uid]}",
                (uid,),
            )
    for key in sorted(set(shares) | set(s.holdings)):
        stored = s.holdings[key].reserved if key in s.holdings else 0
        if stored != shares[key]:
            yield Violation(
                "reserved_shares",
                f"{key[1]}: holding reserves {stored}, its non-final orders {shares[key]}",
                key,
            )


def orders_consistent(s: Snapshot) -> Iterator[Violation]:
    fills_of: dict[str, list[int]] = defaultdict(list)
    cost_of: dict[str, int] = defaultdict(int)
    for f in s.fills:
        fills_of[f.order_id].append(f.quantity)
        cost_of[f.order_id] += f.price * f.quantity
    for o in s.orders.values():
        if o.status not in NON_FINAL | FINAL:
            yield Violation("order_status", f"unknown status {o.status!r}", (o.id,))
        if o.status in FINAL and (o.reserved_cash or o.reserved_quantity):
            yield Violation(
                "final_order_reserved",
                f"{o.status} order still reserves cash {o.reserved_cash}, shares {o.reserved_quantity}",
                (o.id,),
            )
        if o.filled + o.remaining != o.quantity:
            yield Violation(
                "order_quantities",
                f"filled {o.filled} + remaining {o.remaining} != quantity {o.quantity}",
                (o.id,),
            )
        if sum(fills_of[o.id]) != o.filled:
            yield Violation(
                "order_fills",
                f"{len(fills_of[o.id])} fills sum to {sum(fills_of[o.id])}, order says filled {o.filled}",
                (o.id,),
            )
        elif cost_of[o.id] != o.fill_cost:
            yield Violation("order_fills", f"fills cost {cost_of[o.id]}, order says {o.fill_cost}", (o.id,))
        if (
            o.side == "buy"
            and o.status in NON_FINAL
            and o.reservation_price is not None
            and o.reserved_cash != o.reservation_price * o.remaining
        ):
            yield Violation(
                "buy_reservation",
                f"reserves {o.reserved_cash} != reservation price {o.reservation_price} "
                f"x remaining {o.remaining}",
                (o.id,),
            )
        if o.side == "sell" and o.status in NON_FINAL and o.reserved_quantity != o.remaining:
            yield Violation(
                "sell_reservation", f"reserves {o.reserved_quantity} shares, remaining {o.remaining}", (o.id,)
            )


def trades_have_fills(s: Snapshot) -> Iterator[Violation]:
    fills = {(f.order_id, f.seq): f for f in s.fills}
    traded: set[tuple[str, int]] = set()
    for t in s.trades:
        for side, order_id in (("buy", t.buy_order_id), ("sell", t.sell_order_id)):
            traded.add((order_id, t.seq))
            f = fills.get((order_id, t.seq))
            if f is None:
                yield Violation(
                    "trade_fill", f"trade {t.symbol}#{t.seq} has no {side} fill", (t.id, order_id)
                )
                continue
            if (f.trade_id, f.price, f.quantity, f.side) != (t.id, t.price, t.quantity, side):
                yield Violation(
                    "trade_fill",
                    f"trade {t.symbol}#{t.seq} ({t.price} x {t.quantity}) and its {side} fill "
                    f"({f.price} x {f.quantity}, trade {f.trade_id}, side {f.side}) differ",
                    (t.id, order_id),
                )
    for key, f in fills.items():
        if key not in traded:
            yield Violation(
                "orphan_fill", f"fill of {f.symbol}#{f.seq} has no trade", (f.order_id, f.trade_id)
            )


def trade_sequence_gapless(s: Snapshot) -> Iterator[Violation]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for t in s.trades:
        seqs[t.symbol].append(t.seq)
    for symbol in sorted(set(seqs) | set(s.stocks)):
        got = sorted(seqs[symbol])
        if got != list(range(1, len(got) + 1)):
            missing = sorted(set(range(1, (got[-1] if got else 0) + 1)) - set(got))[:10]
            yield Violation(
                "trade_sequence", f"{symbol}: trade sequence not 1..n, missing {missing}", (symbol,)
            )
        stock = s.stocks.get(symbol)
        if stock is not None and stock.trade_seq != len(got):
            yield Violation(
                "trade_sequence",
                f"{symbol}: stock trade_seq {stock.trade_seq}, {len(got)} trades stored",
                (symbol,),
            )


def _levels(orders: list[Order], buy: bool) -> tuple[Level, ...]:
    by_price: dict[int, list[int]] = defaultdict(list)
    for o in orders:
        if o.bound is not None:
            by_price[o.bound].append(o.remaining)
    prices = sorted(by_price, reverse=buy)[:SNAPSHOT_DEPTH]
    return tuple((p, sum(by_price[p]), len(by_price[p])) for p in prices)


def book_matches_orders(s: Snapshot) -> Iterator[Violation]:
    resting: dict[str, list[Order]] = defaultdict(list)
    for o in s.orders.values():
        if o.resting:
            resting[o.symbol].append(o)
            if o.status not in ("open", "partially_filled"):
                yield Violation("resting_order", f"{o.status} order is still in the book index", (o.id,))
        elif o.status in ("open", "partially_filled"):
            yield Violation("resting_order", f"{o.status} order is not in the book", (o.id,))
    for symbol in sorted(set(s.books) | set(resting)):
        book = s.books.get(symbol)
        if book is None:
            yield Violation("book", f"{symbol}: resting orders but no BOOK item", (symbol,))
            continue
        orders = resting[symbol]
        bids = _levels([o for o in orders if o.side == "buy"], buy=True)
        asks = _levels([o for o in orders if o.side == "sell"], buy=False)
        if (bids, asks) != (book.bids, book.asks):
            yield Violation(
                "book",
                f"{symbol}: stored book (v{book.version}{', partial' if book.partial else ''}) bids "
                f"{list(book.bids)[:5]} asks {list(book.asks)[:5]} != open orders' bids {list(bids)[:5]} "
                f"asks {list(asks)[:5]}",
                (symbol,),
            )
        if book.bids and book.asks and book.bids[0][0] >= book.asks[0][0]:
            yield Violation(
                "crossed_book",
                f"{symbol}: best bid {book.bids[0][0]} >= best ask {book.asks[0][0]}",
                (symbol,),
            )


def trades_within_limits(s: Snapshot) -> Iterator[Violation]:
    for t in s.trades:
        buy, sell = s.orders.get(t.buy_order_id), s.orders.get(t.sell_order_id)
        if buy is None or sell is None:
            yield Violation("trade_order", f"trade {t.symbol}#{t.seq} names an unknown order", (t.id,))
            continue
        if buy.user_id == sell.user_id:
            yield Violation(
                "self_trade", f"trade {t.symbol}#{t.seq} between one user's orders", (t.id, buy.user_id)
            )
        if buy.symbol != t.symbol or sell.symbol != t.symbol or buy.side != "buy" or sell.side != "sell":
            yield Violation(
                "trade_order", f"trade {t.symbol}#{t.seq} names orders of another stock or side", (t.id,)
            )
        if buy.bound is not None and t.price > buy.bound:
            yield Violation(
                "limit_breach", f"buy filled at {t.price} above its bound {buy.bound}", (t.id, buy.id)
            )
        if sell.bound is not None and t.price < sell.bound:
            yield Violation(
                "limit_breach", f"sell filled at {t.price} below its bound {sell.bound}", (t.id, sell.id)
            )


def nothing_pending(s: Snapshot) -> Iterator[Violation]:
    for o in sorted(s.orders.values(), key=lambda o: o.id):
        if o.status == "pending":
            yield Violation(
                "pending_order", f"{o.symbol} {o.side} {o.order_type} still pending", (o.id, o.user_id)
            )
    for b in s.books.values():
        if b.partial:
            yield Violation(
                "pending_order", f"{b.symbol}: book v{b.version} is a partial commit", (b.symbol,)
            )


RULES: tuple[Rule, ...] = (
    cash_conserved,
    shares_conserved,
    no_negative_balance,
    reservations_match_orders,
    orders_consistent,
    trades_have_fills,
    trade_sequence_gapless,
    book_matches_orders,
    trades_within_limits,
)


def check(snapshot: Snapshot, *, quiet: bool = True) -> list[Violation]:
    """Every violation of the money rules; ``quiet``: the system is idle, so nothing may be pending."""
    rules = (*RULES, nothing_pending) if quiet else RULES
    return [v for rule in rules for v in rule(snapshot)]
