"""A user's orders, newest first (GET /api/orders), reading O(limit) items per request whatever
the user's history.

* ``status=open``: a Query of the sparse ``user_open_orders`` index (``open_user`` is set while the
  order is not final; the matcher's Put of the order drops it in the transaction that makes it
  final), so it reads only the user's non-final orders. A GSI is eventually consistent on AWS: an
  order placed or finalised a moment ago may be missing from / still in that list for a moment.
* ``all`` without a symbol: the user's partition, ``limit`` items, strongly consistent.
* ``closed`` and ``symbol=S``: the partition (or the open index) with a FilterExpression, examining
  at most ``max(limit, EXAMINE_BUDGET)`` items per request; a page may then hold fewer than
  ``limit`` orders (even none) with a ``next_cursor`` to go on from.
"""

from __future__ import annotations

from exchange import keys
from exchange.adapters.dynamo import Item, Page, Table
from exchange.domain.records import FINAL

OPEN_INDEX = "user_open_orders"
EXAMINE_BUDGET = 1000  # items a filtered read examines per request, at most
_MIN_STEP = 100  # a filtered read's Query examines at least this many (few round trips)


def list_orders(
    table: Table, user_id: str, status: str, symbol: str | None, limit: int, start: Item | None
) -> Page:
    open_only = status == "open"
    filters: list[str] = []
    names: dict[str, str] = {}
    key_attrs: tuple[str, ...]
    if open_only:
        cond, values, key_attrs = "open_user = :u", {":u": user_id}, ("open_user", "pk", "sk")
    else:
        cond, key_attrs = "pk = :pk AND begins_with(sk, :p)", ("pk", "sk")
        values = {":pk": keys.user(user_id), ":p": "ORDER#"}
    if status == "closed":
        names["#st"] = "status"
        filters.append("#st IN (" + ", ".join(f":s{i}" for i in range(len(FINAL))) + ")")
        values.update({f":s{i}": s for i, s in enumerate(FINAL)})
    if symbol:
        filters.append("symbol = :sym")
        values[":sym"] = symbol
    budget = max(limit, EXAMINE_BUDGET) if filters else limit
    out: list[Item] = []
    while len(out) < limit and budget > 0:
        want = limit - len(out)
        step = min(budget, max(want, _MIN_STEP)) if filters else want
        page = table.query(
            cond,
            values,
            names=names or None,
            index=OPEN_INDEX if open_only else None,
            forward=False,
            limit=step,
            start_key=start,
            consistent=not open_only,
            filter_expression=" AND ".join(filters) or None,
        )
        budget -= step
        if len(page.items) > want:  # more matches than the page needs: go on after the last kept
            out.extend(page.items[:want])
            return Page(out, {k: out[-1][k] for k in key_attrs})
        out.extend(page.items)
        start = page.last_key
        if start is None:
            break
    return Page(out, start)
