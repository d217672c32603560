"""The engine in the built layer is the mypyc-compiled one and behaves exactly like the source.

Run by tools/check_template.sh with python3.12 (Lambda's runtime) after `sam build`:
    python3.12 tools/check_compiled_engine.py .aws-sam/build/SharedLayer/python
It imports the layer's engine (compiled), loads the pure-Python source under another name, drives
both with the same random flow (limit gtc/day/ioc/fok, market, cancels, several users so that
self-trade prevention happens) and demands identical events after every step and identical books.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "layers" / "shared" / "exchange" / "domain" / "engine.py"


def _plain(events: list[object]) -> list[tuple[object, ...]]:
    return [(type(e).__name__, *tuple(e)) for e in events]  # type: ignore[arg-type]


def main(layer: str, ops: int = 30_000) -> int:
    sys.path.insert(0, layer)
    from exchange.domain import engine as compiled

    if not compiled.__file__ or not compiled.__file__.endswith(".so"):
        print(f"PROBLEM: the layer's engine is not compiled: {compiled.__file__}")
        return 1
    spec = importlib.util.spec_from_file_location("engine_source", SOURCE)
    assert spec and spec.loader
    source = importlib.util.module_from_spec(spec)
    sys.modules["engine_source"] = source
    spec.loader.exec_module(source)

    rng = random.Random(7)
    books = (compiled.OrderBook("X"), source.OrderBook("X"))
    resting: list[int] = []
    for oid in range(1, ops + 1):
        r = rng.random()
        if r < 0.3 and resting:
            victim = resting.pop(rng.randrange(len(resting)))
            a, b = (bk.cancel(victim) for bk in books)
            if (a and tuple(a)) != (b and tuple(b)):
                print(f"PROBLEM: cancel {victim} differs: {a} vs {b}")
                return 1
            continue
        side, user, qty = rng.randint(0, 1), rng.randint(1, 4), rng.randint(1, 50)
        price = 1000 + rng.randint(-20, 20)
        market = r > 0.9
        tif = "ioc" if market else rng.choice(["gtc", "gtc", "day", "ioc", "fok"])
        a, b = (_plain(bk.submit(oid, user, side, qty, price, tif, is_market=market)) for bk in books)
        if a != b:
            print(f"PROBLEM: order {oid} differs:\n  compiled {a}\n  source   {b}")
            return 1
        if a[-1][0] == "Rested":
            resting.append(oid)
    if books[0].depth(1000) != books[1].depth(1000) or list(books[0].resting_orders()) != list(
        books[1].resting_orders()
    ):
        print("PROBLEM: the final books differ")
        return 1
    print(f"compiled engine ({Path(compiled.__file__).name}) == source on {ops} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
