"""The demo traders' decisions (local_stack/demo/strategies.py), their pace and their settings: pure,
seeded, no stack."""

from __future__ import annotations

import random

import pytest

from local_stack.demo.market import Pacer
from local_stack.demo.settings import DemoSettings, from_environ
from local_stack.demo.strategies import (
    Account,
    Cancel,
    MakerParams,
    MomentumParams,
    NoiseParams,
    OpenOrder,
    Place,
    Stock,
    affordable,
    market_maker,
    momentum,
    next_fair,
    noise,
    round_to_tick,
)

ACME = Stock("ACME", tick=1, reference=10_000, best_bid=9_990, best_ask=10_010)
INITECH = Stock("INITECH", tick=5, reference=1_235, best_bid=1_230, best_ask=1_240)
RICH = Account(cash=10_000_000, shares={"ACME": 10_000, "INITECH": 10_000})


def places(actions: list[Cancel | Place]) -> list[Place]:
    return [a for a in actions if isinstance(a, Place)]


# ------------------------------------------------------------------------ market maker
def test_a_market_maker_quotes_both_sides_around_fair_value_with_its_spread() -> None:
    # Given fair value 100.00 on a one-cent tick, a half-spread of 20 ticks, two levels
    params = MakerParams(spread_ticks=20, levels=2)
    # When it decides with no quote resting yet
    quotes = places(market_maker(10_000, ACME, Account(cash=0), params))
    # Then two bids below and two asks above, a half-spread apart
    assert sorted((q.side, q.price) for q in quotes) == [
        ("buy", 9_960),
        ("buy", 9_980),
        ("sell", 10_020),
        ("sell", 10_040),
    ]
    assert all(q.quantity == ACME.lot == 10 for q in quotes)


def test_market_maker_quotes_are_on_the_tick_and_straddle_fair_value() -> None:
    quotes = places(market_maker(1_237, INITECH, Account(cash=0), MakerParams(spread_ticks=1, levels=1)))
    bid, ask = sorted(quotes, key=lambda q: q.side)  # buy, sell
    assert bid.price == 1_230 and ask.price == 1_245  # 12.37 -> one tick either way, on the 0.05 grid
    assert all((q.price or 0) % INITECH.tick == 0 for q in quotes)


def test_a_market_maker_keeps_near_quotes_and_cancels_stale_ones() -> None:
    params = MakerParams(spread_ticks=20, levels=1, max_age=30)
    me = Account(
        cash=0,
        open_orders=(
            OpenOrder("near-bid", "ACME", "buy", 9_985, 10, age=2),  # 5 ticks off the wanted 99.80: kept
            OpenOrder("far-ask", "ACME", "sell", 10_200, 10, age=2),  # far above: cancelled
            OpenOrder("old-bid", "ACME", "buy", 9_980, 10, age=31),  # too old (and a second bid)
            OpenOrder("other", "INITECH", "sell", 1_300, 5, age=100),  # another stock: not this decision
        ),
    )
    actions = market_maker(10_000, ACME, me, params)
    assert {a.order_id for a in actions if isinstance(a, Cancel)} == {"far-ask", "old-bid"}
    assert [(p.side, p.price) for p in places(actions)] == [("sell", 10_020)]  # only the missing ask


def test_fair_value_is_a_seeded_walk_that_wanders_and_stays_near_the_reference() -> None:
    def walk(seed: int) -> list[int]:
        rng, fair, path = random.Random(seed), 1_235, []
        for _ in range(600):
            fair = next_fair(rng, fair, INITECH)
            path.append(fair)
        return path

    path = walk(7)
    assert path == walk(7)  # repeatable
    assert len(set(path)) > 20  # it moves, by less than a coarse tick too (no rounding drift)
    assert 0.8 * 1_235 < sum(path[-100:]) / 100 < 1.2 * 1_235


# ------------------------------------------------------------------------ momentum
def test_momentum_buys_after_rising_trades_and_sells_after_falling_ones() -> None:
    rising = Stock(
        "ACME", 1, 10_000, best_bid=10_040, best_ask=10_050, trades=(10_000, 10_010, 10_020, 10_040)
    )
    falling = Stock("ACME", 1, 10_000, best_bid=9_950, best_ask=9_960, trades=(10_000, 9_990, 9_970, 9_960))
    assert momentum([rising], RICH, MomentumParams()) == [Place("ACME", "buy", rising.lot)]  # a market order
    assert momentum([falling], RICH, MomentumParams()) == [Place("ACME", "sell", falling.lot)]


def test_momentum_waits_on_a_flat_or_choppy_tape_and_follows_the_strongest_trend() -> None:
    flat = Stock("ACME", 1, 10_000, best_bid=1, best_ask=2, trades=(10_000, 10_010, 9_990, 10_000))
    assert momentum([flat], RICH, MomentumParams()) == []
    assert momentum([Stock("ACME", 1, 10_000, trades=(10_000, 10_010))], RICH, MomentumParams()) == []
    mild = Stock("ACME", 1, 10_000, best_bid=1, best_ask=2, trades=(10_000, 10_001, 10_002))  # +0.02%
    strong = Stock("INITECH", 5, 1_235, best_bid=1, best_ask=2, trades=(1_235, 1_250, 1_270))  # +2.8%
    assert momentum([mild, strong], RICH, MomentumParams()) == [Place("INITECH", "buy", strong.lot)]


# ------------------------------------------------------------------------ noise
def test_noise_orders_are_seeded_near_the_mid_and_bounded_in_open_orders() -> None:
    params = NoiseParams(max_open=3, orders_per_turn=2)
    me = Account(
        cash=0, open_orders=tuple(OpenOrder(f"o{i}", "ACME", "buy", 9_990, 1, age=10 - i) for i in range(4))
    )
    first = noise(random.Random(3), [ACME, INITECH], me, params)
    assert first == noise(random.Random(3), [ACME, INITECH], me, params)  # repeatable
    # 4 open + 2 new must fit in 3: the three oldest go
    assert [a.order_id for a in first if isinstance(a, Cancel)] == ["o0", "o1", "o2"]
    orders = [
        p for seed in range(200) for p in places(noise(random.Random(seed), [ACME], Account(0), params))
    ]
    assert len(orders) == 400  # two a turn, no more
    limits = [p for p in orders if p.price is not None]
    assert 0 < len(limits) < len(orders)  # market and limit orders both
    step = 5  # 0.05% of 100.00
    assert all(abs((p.price or 0) - ACME.mid) <= params.max_offset_ticks * step for p in limits)
    assert any(p.price < ACME.mid for p in limits if p.side == "buy" and p.price)  # behind the mid
    assert any(p.price > ACME.best_ask for p in limits if p.side == "buy" and p.price)  # through it
    assert {p.side for p in orders} == {"buy", "sell"}


def test_noise_sends_no_market_order_into_an_empty_side() -> None:
    no_asks = Stock("ACME", 1, 10_000, best_bid=9_990)
    for seed in range(100):
        for p in places(noise(random.Random(seed), [no_asks], Account(0), NoiseParams(market_share=1.0))):
            assert p.price is not None or p.side == "sell"


def test_the_pace_holds_every_order_to_the_rate() -> None:
    # Given a rate of 20 orders/s and a clock the test moves
    now = [100.0]
    pacer = Pacer(20, clock=lambda: now[0])
    # When 100 orders ask for a slot at once, then more after an idle spell
    delays = [pacer.slot() for _ in range(100)]
    # Then the n-th waits n/20 s: 100 orders take 5 s, never more than 20 in any second
    assert delays == pytest.approx([i / 20 for i in range(100)])
    now[0] += 60  # idle: no burst of saved-up slots afterwards
    assert [pacer.slot() for _ in range(3)] == pytest.approx([0, 0.05, 0.10])


# ------------------------------------------------------------------------ the money rules
def test_affordable_drops_what_the_api_would_refuse_for_funds() -> None:
    me = Account(cash=250_000, shares={"ACME": 5})  # 2,500.00 and 5 shares available
    stocks = {"ACME": Stock("ACME", 1, 10_000, last=10_000)}
    actions = [
        Cancel("x"),
        Place("ACME", "buy", 20, 10_000),  # 2,000.00: fits
        Place("ACME", "buy", 10, 10_000),  # 1,000.00 more: over what is left
        Place("ACME", "buy", 4),  # a market buy: up to 4 x 110.01 = 440.04 <= 500.00 left
        Place("ACME", "sell", 6, 10_100),  # 6 > 5 shares
        Place("ACME", "sell", 5, 10_100),
        Place("ACME", "buy", 1),  # 110.01 > 59.96 left
    ]
    assert affordable(actions, me, stocks) == [actions[0], actions[1], actions[3], actions[5]]


def test_round_to_tick() -> None:
    assert round_to_tick(1_237, 5) == 1_235
    assert round_to_tick(1_237, 5, up=True) == 1_240
    assert round_to_tick(1_240, 5, up=True) == 1_240
    assert round_to_tick(2, 5) == 5  # never below one tick


# ------------------------------------------------------------------------ settings
def test_demo_is_off_unless_asked_and_has_its_defaults() -> None:
    assert from_environ({}) is None
    assert from_environ({"DEMO": "0"}) is None
    settings = from_environ({"DEMO": "1"})
    assert settings == DemoSettings(traders=20, rate=20.0, seed=1)
    assert settings.kinds == {"maker": 6, "noise": 10, "momentum": 4}
    assert from_environ({"DEMO": "1", "DEMO_TRADERS": "3"}).kinds == {"maker": 1, "noise": 1, "momentum": 1}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEMO": "maybe"}, "DEMO='maybe': must be 1 (on) or 0 (off)"),
        ({"DEMO_TRADERS": "abc"}, "DEMO_TRADERS='abc': must be a whole number, 3 to 200"),
        ({"DEMO_TRADERS": "2"}, "DEMO_TRADERS='2': must be a whole number, 3 to 200"),
        ({"DEMO_TRADERS": "201"}, "DEMO_TRADERS='201'"),
        ({"DEMO_RATE": "0"}, "DEMO_RATE='0': must be a number of orders a second above 0"),
        ({"DEMO_RATE": "fast"}, "DEMO_RATE='fast'"),
        ({"DEMO_RATE": "nan"}, "DEMO_RATE='nan'"),
        ({"DEMO_SEED": "-1"}, "DEMO_SEED='-1': must be a whole number"),
    ],
)
def test_bad_demo_settings_are_one_line_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        from_environ({"DEMO": "1", **env})
    assert message in str(caught.value) and "\n" not in str(caught.value)
