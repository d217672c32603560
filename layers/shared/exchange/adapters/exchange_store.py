"""The exchange table: users, cash, holdings, stocks, books, orders, fills, trades.

Every write that moves money is conditional and atomic; the matcher's batch is one transaction
conditional on the book version it matched against.
"""

from __future__ import annotations

from typing import Any

from exchange import keys
from exchange.adapters.contention import unavailable_when_busy
from exchange.adapters.dynamo import (
    ConditionFailed,
    Item,
    Op,
    Page,
    Table,
    TransactionConflict,
    TransactionFailed,
)
from exchange.adapters.order_list import list_orders
from exchange.domain.errors import (
    Conflict,
    InsufficientFunds,
    InsufficientShares,
    NotFound,
    StaleState,
)
from exchange.domain.records import NON_FINAL

_busy = unavailable_when_busy("the account is busy with another change; try again")


class ExchangeStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    # ------------------------------------------------------------------ users
    @_busy
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

    @_busy
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

    @_busy
    def grant(
        self, user_id: str, symbol: str, quantity: int, cost: int, now: int, mark_price: int | None
    ) -> Item:
        """Shares in, at a cost basis (reference price x quantity); creates the holding if new.
        ``mark_price`` (the stock's last price, None before its first trade) lets the holding's
        stream image alone value it (the notifier's PORTFOLIO_UPDATED)."""
        values = {":q": quantity, ":c": cost, ":u": user_id, ":s": symbol, ":t": now, ":zero": 0}
        mark = ""
        if mark_price is not None:
            values[":m"] = mark_price
            mark = ", mark_price = :m"
        item = self.table.update(
            keys.user(user_id),
            keys.holding_sk(symbol),
            "ADD available :q, cost_basis :c, granted :q SET user_id = :u, symbol = :s, updated_at = :t, "
            # granted: the conservation ledger (shares of a stock = the sum of its grants)
            "reserved = if_not_exists(reserved, :zero), realized_pnl = if_not_exists(realized_pnl, :zero)"
            + mark,
            values=values,
            return_new=True,
        )
        assert item is not None
        return item

    # ------------------------------------------------------------------ stocks
    @_busy
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
            if isinstance(exc, TransactionConflict):
                raise
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

    # candles: adapters/candle_store.py (pre-aggregated by the matcher; never read from the trades)

    # ------------------------------------------------------------------ orders (api)
    @_busy
    def place_order(
        self, order: Item, *, cash_amount: int, share_quantity: int, mark_price: int | None = None
    ) -> None:
        """Create the order and reserve cash (buy) or shares (sell) in one conditional transaction;
        a sell's holding also gets ``mark_price`` (the stock's last price, if it has traded), so its
        stream image alone values it."""
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
            mark = ", mark_price = :m" if mark_price is not None else ""
            values = {":q": share_quantity, ":t": order["created_at"]}
            if mark_price is not None:
                values[":m"] = mark_price
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(uid), "sk": keys.holding_sk(order["symbol"])},
                    update="SET available = available - :q, reserved = reserved + :q, updated_at = :t" + mark,
                    condition="available >= :q",
                    values=values,
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
            # the client_order_id first: a concurrent twin that took the id also took the funds, and
            # the contract answers a twin with the existing order whatever else would have failed
            if cid and exc.reasons and exc.reasons[-1] == "ConditionalCheckFailed":
                raise StaleState("client_order_id exists") from exc
            if len(exc.reasons) > 1 and exc.reasons[1] == "ConditionalCheckFailed":
                if cash_amount:
                    raise InsufficientFunds("available cash is short of the order's reservation") from exc
                raise InsufficientShares("available shares are short of the order's quantity") from exc
            raise

    def order_id_for_client_id(self, user_id: str, client_order_id: str) -> str | None:
        item = self.table.get(keys.user(user_id), keys.client_order_sk(client_order_id))
        return item["order_id"] if item else None

    def order(self, user_id: str, order_id: str) -> Item | None:
        return self.table.get(keys.user(user_id), keys.order_sk(order_id))

    def orders(
        self, user_id: str, status: str, symbol: str | None, limit: int, start_key: Item | None
    ) -> Page:
        """Newest first, O(limit) items read (adapters/order_list.py)."""
        return list_orders(self.table, user_id, status, symbol, limit, start_key)

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

    @_busy
    def request_cancel(self, user_id: str, order_id: str, now: int) -> Item:
        """Mark a non-final order cancel_requested (idempotent); 404 / 409 otherwise. The order also
        joins the sparse pending index (a pending order keeps its original time there), so the
        scheduler's sweep re-sends the cancel if its message is lost; the matcher's write of the
        order drops it from the index."""
        try:
            item = self.table.update(
                keys.user(user_id),
                keys.order_sk(order_id),
                "SET cancel_requested = :y, updated_at = :t, pending_shard = :ps, "
                "pending_since = if_not_exists(pending_since, :t)",
                condition="attribute_exists(pk) AND #st IN (:a, :b, :c)",
                names={"#st": "status"},
                values={
                    ":y": True,
                    ":t": now,
                    ":ps": keys.PENDING_SHARD,
                    ":a": NON_FINAL[0],
                    ":b": NON_FINAL[1],
                    ":c": NON_FINAL[2],
                },
                return_new=True,
            )
        except ConditionFailed as exc:
            if self.order(user_id, order_id) is None:
                raise NotFound("no such order") from exc
            raise Conflict("the order is already final", code="order_not_cancellable") from exc
        assert item is not None
        return item

    def leave_pending_index(self, user_id: str, order_id: str) -> bool:
        """Drop an order's index entry when nothing is left to send for it: taken by the matcher
        (not ``pending``) and either final or with no cancel requested. False if something is."""
        try:
            self.table.update(
                keys.user(user_id),
                keys.order_sk(order_id),
                "REMOVE pending_shard, pending_since",
                condition="attribute_exists(pk) AND #st <> :p AND (cancel_requested = :no OR "
                "NOT (#st IN (:a, :b, :c)))",
                names={"#st": "status"},
                values={
                    ":p": "pending",
                    ":no": False,
                    **{f":{k}": st for k, st in zip("abc", NON_FINAL, strict=True)},
                },
            )
        except ConditionFailed:
            return False
        return True

    def pending_orders(self, older_than_ms: int) -> list[Item]:
        return list(
            self.table.query_all(
                "pending_shard = :s AND pending_since < :t",
                {":s": keys.PENDING_SHARD, ":t": older_than_ms},
                index="pending_orders",
            )
        )

    # ------------------------------------------------------------------ scheduler
    def resting_orders(self, symbol: str) -> list[Item]:
        """The orders resting in a book (day expiry); the matcher has its own store
        (adapters/matcher_store.py)."""
        return list(self.table.query_all("book_symbol = :s", {":s": symbol}, index="open_orders"))
