"""bench_peers.py adapter for the project's matching engine (exchange.domain.engine).

Load it with ``python ../shared/bench/bench_peers.py --adapter-file benchmarks/engine_adapter.py``
from the project root. It finds the engine by itself: ``<repo>/layers/shared`` is put on sys.path.

The timed glue calls :meth:`OrderBook.execute` (the matching algorithm that ``submit`` validates
and wraps) and :meth:`OrderBook.remove` (which ``cancel`` wraps). ``execute`` reports each fill
as a ``(taker, maker, price, qty)`` trade, which is already the harness's format, and its
per-fill details (maker user, remaining quantities) only when asked for: here they are not.
"""

import os
import sys

from bench_peers import BUY, SELL, Adapter

_LAYER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "layers", "shared")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)

# The harness has no collar: market orders get a bound that never binds.
_NO_BOUND = (sys.maxsize, 1)


class ExchangeEngineAdapter(Adapter):
    name = "exchange-engine"

    def __init__(self):
        from exchange.domain.engine import BUY as E_BUY
        from exchange.domain.engine import MODE_MARKET, MODE_REST, OrderBook
        from exchange.domain.engine import SELL as E_SELL

        assert (E_BUY, E_SELL) == (BUY, SELL)
        self.book = OrderBook("X")
        execute = self.book.execute
        remove = self.book.remove

        def add_limit(oid, side, price, qty):
            fills: list[tuple] = []
            execute(oid, None, side, qty, price, MODE_REST, fills)
            return fills

        def add_market(oid, side, qty):
            fills: list[tuple] = []
            execute(oid, None, side, qty, _NO_BOUND[side], MODE_MARKET, fills)
            return fills

        def cancel(oid):
            remove(oid)
            return []

        # instance attributes shadow the methods: the harness binds these plain closures
        self.add_limit = add_limit
        self.add_market = add_market
        self.cancel = cancel

    def depth(self):
        res = {BUY: [0, 0, 0], SELL: [0, 0, 0]}
        levels = set()
        for _oid, _uid, side, price, qty in self.book.resting_orders():
            r = res[side]
            r[0] += 1
            r[2] += qty
            levels.add((side, price))
        for side, _price in levels:
            res[side][1] += 1
        return dict(
            orders=res[BUY][0] + res[SELL][0],
            bid_levels=res[BUY][1],
            ask_levels=res[SELL][1],
            bid_qty=res[BUY][2],
            ask_qty=res[SELL][2],
        )


ADAPTER = ExchangeEngineAdapter
