"""The exchange table: users, cash, holdings, stocks, books, orders, fills, trades.

Every write that moves money is conditional and atomic; the matcher's batch is one transaction
conditional on the book version it matched against.
"""

from __future__ import annotations

from typing import Any

from exchange import keys
from exchange.adapters.dynamo import ConditionFailed, Item, Op, Page, Table, TransactionFailed
from exchange.domain.batch import BatchCommit
from exchange.domain.errors import (
    Conflict,
    InsufficientFunds,
    InsufficientShares,
    NotFound,
    StaleState,
)

NON_FINAL = ("pending", "open", "partially_filled")


class ExchangeStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    # ------------------------------------------------------------------ users
    def create_user(self, profile: Item, starting_cash: int) -> None:
        """Email uniqueness, profile and cash account in one transaction."""
        uid, now = profile["id"], profile["created_at"]
        t = self.table.name
        ops = [
            Op(
                "Put",
                t,
                item={"pk": keys.email(profile["email"]), "sk": keys.EMAIL, "user_id": uid},
                condition="attribute_not_exists(pk)",
            ),
            Op(
                "Put",
                t,
                item={"pk": keys.user(uid), "sk": keys.PROFILE, **profile},
                condition="attribute_not_exists(pk)",
            ),
            Op(
                "Put",
                t,
                item={
                    "pk": keys.user(uid),
                    "sk": keys.CASH,
                    "user_id": uid,
                    "available": starting_cash,
                    "reserved": 0,
                    # the conservation ledger: total cash = sum(initial + deposited)
                    "initial": starting_cash,
                    "deposited": 0,
                    "updated_at": now,
                },
                condition="attribute_not_exists(pk)",
            ),
        ]
        try:
            self.table.transact(ops)
        except TransactionFailed as exc:
            if exc.reasons and exc.reasons[0] == "ConditionalCheckFailed":
                raise Conflict("an account with this email exists", code="email_taken") from exc
            raise

    def user_id_by_email(self, email: str) -> str | None:
        item = self.table.get(keys.email(email), keys.EMAIL)
        return item["user_id"] if item else None

    def profile(self, user_id: str) -> Item | None:
        return self.table.get(keys.user(user_id), keys.PROFILE)

    def set_role(self, user_id: str, role: str) -> None:
        self.table.update(
            keys.user(user_id),
            keys.PROFILE,
            "SET #r = :r",
            names={"#r": "role"},
            values={":r": role},
            condition="attribute_exists(pk)",
        )

    # ------------------------------------------------------------------ balances
    def cash(self, user_id: str) -> Item | None:
        return self.table.get(keys.user(user_id), keys.CASH)

    def holding(self, user_id: str, symbol: str) -> Item | None:
        return self.table.get(keys.user(user_id), keys.holding_sk(symbol))

    def holdings(self, user_id: str) -> list[Item]:
        return list(
            self.table.query_all(
                "pk = :pk AND begins_with(sk, :p)",
                {":pk": keys.user(user_id), ":p": "HOLDING#"},
                consistent=True,
            )
        )

    def holdings_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        found = self.table.get_many([(keys.user(u), keys.holding_sk(s)) for u, s in pairs])
        return {(i["user_id"], i["symbol"]): i for i in found.values()}

    def deposit(self, user_id: str, amount: int, now: int) -> Item:
        item = self.table.update(
            keys.user(user_id),
            keys.CASH,
            "ADD available :a, deposited :a SET updated_at = :t",  # deposited: the conservation ledger
            condition="attribute_exists(pk)",
            values={":a": amount, ":t": now},
            return_new=True,
        )
        assert item is not None
        return item

    def grant(self, user_id: str, symbol: str, quantity: int, cost: int, now: int) -> Item:
        """Shares in, at a cost basis (reference price x quantity); creates the holding if new."""
        item = self.table.update(
            keys.user(user_id),
            keys.holding_sk(symbol),
            # granted: the conservation ledger (shares of a stock = the sum of its grants)
            "ADD available :q, cost_basis :c, granted :q SET user_id = :u, symbol = :s, updated_at = :t, "
            "reserved = if_not_exists(reserved, :zero), realized_pnl = if_not_exists(realized_pnl, :zero)",
            values={":q": quantity, ":c": cost, ":u": user_id, ":s": symbol, ":t": now, ":zero": 0},
            return_new=True,
        )
        assert item is not None
        return item

    # ------------------------------------------------------------------ stocks
    def create_stock(self, stock: Item, book: Item) -> None:
        t = self.table.name
        sym = stock["symbol"]
        try:
            self.table.transact(
                [
                    Op(
                        "Put",
                        t,
                        item={
                            "pk": keys.stock(sym),
                            "sk": keys.STOCK,
                            "gsi1pk": keys.STOCKS_GSI,
                            "gsi1sk": sym,
                            **stock,
                        },
                        condition="attribute_not_exists(pk)",
                    ),
                    Op(
                        "Put",
                        t,
                        item={"pk": keys.stock(sym), "sk": keys.BOOK, **book},
                        condition="attribute_not_exists(pk)",
                    ),
                ]
            )
        except TransactionFailed as exc:
            raise Conflict(f"stock {sym} exists", code="stock_exists") from exc

    def stock(self, symbol: str) -> Item | None:
        return self.table.get(keys.stock(symbol), keys.STOCK)

    def stocks(self) -> list[Item]:
        return list(self.table.query_all("gsi1pk = :p", {":p": keys.STOCKS_GSI}, index="gsi1"))

    def book(self, symbol: str) -> Item | None:
        return self.table.get(keys.stock(symbol), keys.BOOK)

    def books(self, symbols: list[str]) -> dict[str, Item]:
        found = self.table.get_many([(keys.stock(s), keys.BOOK) for s in symbols])
        return {pk.removeprefix("STOCK#"): item for (pk, _), item in found.items()}

    def trades(self, symbol: str, limit: int) -> list[Item]:
        return self.table.query("pk = :p", {":p": keys.trades(symbol)}, forward=False, limit=limit).items

    def trades_between(self, symbol: str, from_ms: int, to_ms: int) -> list[Item]:
        return [
            t
            for t in self.table.query_all(
                "pk = :p",
                {":p": keys.trades(symbol), ":a": from_ms, ":b": to_ms},
                filter_expression="executed_at BETWEEN :a AND :b",
            )
        ]

    # ------------------------------------------------------------------ orders (api)
    def place_order(self, order: Item, *, cash_amount: int, share_quantity: int) -> None:
        """Create the order and reserve cash (buy) or shares (sell) in one conditional transaction."""
        t, uid = self.table.name, order["user_id"]
        ops = [
            Op(
                "Put",
                t,
                item={"pk": keys.user(uid), "sk": keys.order_sk(order["id"]), **order},
                condition="attribute_not_exists(pk)",
            )
        ]
        if cash_amount:
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(uid), "sk": keys.CASH},
                    update="SET available = available - :a, reserved = reserved + :a, updated_at = :t",
                    condition="available >= :a",
                    values={":a": cash_amount, ":t": order["created_at"]},
                )
            )
        if share_quantity:
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(uid), "sk": keys.holding_sk(order["symbol"])},
                    update="SET available = available - :q, reserved = reserved + :q, updated_at = :t",
                    condition="available >= :q",
                    values={":q": share_quantity, ":t": order["created_at"]},
                )
            )
        cid = order.get("client_order_id")
        if cid:
            ops.append(
                Op(
                    "Put",
                    t,
                    item={"pk": keys.user(uid), "sk": keys.client_order_sk(cid), "order_id": order["id"]},
                    condition="attribute_not_exists(pk)",
                )
            )
        try:
            self.table.transact(ops)
        except TransactionFailed as exc:
            if len(exc.reasons) > 1 and exc.reasons[1] == "ConditionalCheckFailed":
                if cash_amount:
                    raise InsufficientFunds("available cash is short of the order's reservation") from exc
                raise InsufficientShares("available shares are short of the order's quantity") from exc
            if cid and exc.reasons[-1] == "ConditionalCheckFailed":
                raise StaleState("client_order_id exists") from exc
            raise

    def order_id_for_client_id(self, user_id: str, client_order_id: str) -> str | None:
        item = self.table.get(keys.user(user_id), keys.client_order_sk(client_order_id))
        return item["order_id"] if item else None

    def order(self, user_id: str, order_id: str) -> Item | None:
        return self.table.get(keys.user(user_id), keys.order_sk(order_id))

    def orders(
        self,
        user_id: str,
        limit: int,
        start_key: Item | None,
        statuses: tuple[str, ...] | None,
        symbol: str | None,
    ) -> Page:
        filters, values, names = [], {":pk": keys.user(user_id), ":p": "ORDER#"}, {}
        if statuses:
            names["#st"] = "status"
            filters.append("#st IN (" + ", ".join(f":s{i}" for i in range(len(statuses))) + ")")
            values.update({f":s{i}": s for i, s in enumerate(statuses)})
        if symbol:
            filters.append("symbol = :sym")
            values[":sym"] = symbol
        return self.table.query(
            "pk = :pk AND begins_with(sk, :p)",
            values,
            names=names or None,
            forward=False,
            limit=limit,
            start_key=start_key,
            consistent=True,
            filter_expression=" AND ".join(filters) or None,
        )

    def fills_of_order(self, user_id: str, order_id: str) -> list[Item]:
        return list(
            self.table.query_all(
                "pk = :pk AND begins_with(sk, :p)",
                {":pk": keys.user(user_id), ":p": keys.fills_of_order_prefix(order_id)},
                consistent=True,
            )
        )

    def user_fills(self, user_id: str, limit: int, start_key: Item | None) -> Page:
        return self.table.query(
            "gsi1pk = :p",
            {":p": keys.user_fills_gsi(user_id)},
            index="gsi1",
            forward=False,
            limit=limit,
            start_key=start_key,
        )

    def request_cancel(self, user_id: str, order_id: str, now: int) -> Item:
        """Mark a non-final order cancel_requested (idempotent); 404 / 409 otherwise."""
        try:
            item = self.table.update(
                keys.user(user_id),
                keys.order_sk(order_id),
                "SET cancel_requested = :y, updated_at = :t",
                condition="attribute_exists(pk) AND #st IN (:a, :b, :c)",
                names={"#st": "status"},
                values={":y": True, ":t": now, ":a": NON_FINAL[0], ":b": NON_FINAL[1], ":c": NON_FINAL[2]},
                return_new=True,
            )
        except ConditionFailed as exc:
            if self.order(user_id, order_id) is None:
                raise NotFound("no such order") from exc
            raise Conflict("the order is already final", code="order_not_cancellable") from exc
        assert item is not None
        return item

    def pending_orders(self, older_than_ms: int) -> list[Item]:
        return list(
            self.table.query_all(
                "pending_shard = :s AND pending_since < :t",
                {":s": keys.PENDING_SHARD, ":t": older_than_ms},
                index="pending_orders",
            )
        )

    # ------------------------------------------------------------------ matcher
    def orders_by_key(self, refs: list[tuple[str, str]]) -> dict[str, Item]:
        """(user_id, order_id) pairs -> order items (strongly consistent)."""
        found = self.table.get_many([(keys.user(u), keys.order_sk(o)) for u, o in refs])
        return {item["id"]: item for item in found.values()}

    def resting_orders(self, symbol: str) -> list[Item]:
        return list(self.table.query_all("book_symbol = :s", {":s": symbol}, index="open_orders"))

    def commit_batch(self, c: BatchCommit) -> None:
        """One conditional transaction: book version n -> n+1 and everything matched against n."""
        t = self.table.name
        ops: list[Op] = []
        book_item = {"pk": keys.stock(c.symbol), "sk": keys.BOOK, **c.book}
        if c.expected_version:
            ops.append(
                Op("Put", t, item=book_item, condition="version = :v", values={":v": c.expected_version})
            )
        else:
            ops.append(Op("Put", t, item=book_item, condition="attribute_not_exists(version)"))
        if c.stock_updates:
            names = {f"#k{i}": k for i, k in enumerate(c.stock_updates)}
            values = {f":v{i}": v for i, v in enumerate(c.stock_updates.values())}
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.stock(c.symbol), "sk": keys.STOCK},
                    update="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(names))),
                    names=names,
                    values=values,
                    condition="attribute_exists(pk)",
                )
            )
        for w in c.orders.values():
            item = w.item
            ops.append(
                Op(
                    "Put",
                    t,
                    item={"pk": keys.user(item["user_id"]), "sk": keys.order_sk(item["id"]), **item},
                    # cancel_requested too: the api may set it meanwhile, and a Put must not lose it
                    condition="#st = :st AND filled_quantity = :f AND cancel_requested = :cr",
                    names={"#st": "status"},
                    values={
                        ":st": w.expected_status,
                        ":f": w.expected_filled,
                        ":cr": w.expected_cancel_requested,
                    },
                )
            )
        for f in c.fills:
            ops.append(Op("Put", t, item=f, condition="attribute_not_exists(pk)"))
        for tr in c.trades:
            ops.append(Op("Put", t, item=tr, condition="attribute_not_exists(pk)"))
        now = c.book["updated_at"]
        for uid, d in c.cash.items():
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(uid), "sk": keys.CASH},
                    update="ADD available :a, reserved :r SET updated_at = :t",
                    condition="attribute_exists(pk)",
                    values={":a": d.available, ":r": d.reserved, ":t": now},
                )
            )
        for h in c.holdings.values():
            cond = (
                "attribute_not_exists(cost_basis)" if h.expected_cost_basis is None else "cost_basis = :old"
            )
            holding_values: dict[str, Any] = {
                ":a": h.available_delta,
                ":r": h.reserved_delta,
                ":c": h.cost_basis,
                ":p": h.realized_pnl,
                ":u": h.user_id,
                ":s": h.symbol,
                ":t": now,
            }
            if h.expected_cost_basis is not None:
                holding_values[":old"] = h.expected_cost_basis
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(h.user_id), "sk": keys.holding_sk(h.symbol)},
                    update="ADD available :a, reserved :r SET cost_basis = :c, realized_pnl = :p, "
                    "user_id = :u, symbol = :s, updated_at = :t",
                    condition=cond,
                    values=holding_values,
                )
            )
        try:
            self.table.transact(ops)
        except TransactionFailed as exc:
            raise StaleState(f"matcher batch for {c.symbol} refused: {exc.reasons}") from exc
