"""The api's money writes under contention (issue 7): a DynamoDB transaction conflict is retried a
bounded number of times and then answered 503 with Retry-After (never a 500); twin requests with
one client_order_id get the existing order (200) even when the twin's reservation also fails."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api_app import errors
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import InsufficientFunds, TemporarilyUnavailable
from exchange.usecases.admin import Admin
from exchange.usecases.orders import OrderRequest, Orders
from tests.integration.conftest import Exchange

WRITES = ("transact_write_items", "update_item", "put_item")


class ConflictingClient:
    """A DynamoDB client whose next ``conflicts`` writes fail as AWS fails a write that meets another
    transaction on the same item; everything else goes to the real (moto) client."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self.conflicts = conflicts
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if name not in WRITES:
            return real

        def call(**kwargs: Any) -> Any:
            if self.conflicts > 0:
                self.conflicts -= 1
                self.refused += 1
                raise _conflict(name, kwargs)
            return real(**kwargs)

        return call


def _conflict(name: str, kwargs: dict[str, Any]) -> ClientError:
    if name == "transact_write_items":
        reasons = [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1) + [{"Code": "TransactionConflict"}]
        body = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
        return ClientError({"Error": body, "CancellationReasons": reasons}, "TransactWriteItems")
    body = {"Code": "TransactionConflictException", "Message": "Transaction is ongoing for the item"}
    return ClientError({"Error": body}, name)


class NullQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: Any, *, dedup_id: str) -> None:
        self.sent.append({"message": message, "dedup_id": dedup_id})


@pytest.fixture
def market(exchange: Exchange) -> tuple[str, str]:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    exchange.admin.list_stock(symbol, symbol, 10_000, 1)
    user = exchange.accounts.register(f"c{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    return symbol, user


def _contended(conflicts: int) -> tuple[ExchangeStore, ConflictingClient]:
    client = ConflictingClient(boto3.client("dynamodb"), conflicts)
    store = ExchangeStore("ExchangeTable", client)
    store.table.sleep = lambda _s: None  # type: ignore[method-assign]
    return store, client


def _buy(qty: int, price: int, symbol: str, cid: str | None = None) -> OrderRequest:
    return OrderRequest(symbol, "buy", "limit", qty, price, "gtc", cid)


def test_a_conflicted_reservation_is_retried_and_reserves_once(
    exchange: Exchange, market: tuple[str, str]
) -> None:
    # Given a store whose next two writes meet a concurrent transaction
    symbol, user = market
    store, client = _contended(2)
    before = exchange.store.cash(user)
    # When the order is placed
    order, created = Orders(store, NullQueue()).place(user, _buy(3, 9_000, symbol))  # type: ignore[arg-type]
    # Then it went through on the third try, and exactly one reservation was made
    assert (created, client.refused) == (True, 2)
    after = exchange.store.cash(user)
    assert after["available"] == before["available"] - 27_000
    assert after["reserved"] == before["reserved"] + 27_000
    assert exchange.store.order(user, order["id"])["reserved_cash"] == 27_000


@pytest.mark.parametrize("action", ["place", "cancel", "deposit", "grant"])
def test_lasting_contention_is_temporarily_unavailable_and_writes_nothing(
    exchange: Exchange, market: tuple[str, str], action: str
) -> None:
    # Given an open order, and a store whose writes always meet a concurrent transaction
    symbol, user = market
    resting, _ = exchange.orders.place(user, _buy(1, 9_000, symbol))
    store, _client = _contended(10**6)
    before_cash, before_order = exchange.store.cash(user), exchange.store.order(user, resting["id"])
    calls = {
        "place": lambda: Orders(store, NullQueue()).place(user, _buy(3, 9_000, symbol)),  # type: ignore[arg-type]
        "cancel": lambda: Orders(store, NullQueue()).cancel(user, resting["id"]),  # type: ignore[arg-type]
        "deposit": lambda: Admin(store).deposit(user, 500),
        "grant": lambda: Admin(store).grant(user, symbol, 5),
    }
    # When / Then the request is refused as retryable (503), not as an unexpected error (500)
    with pytest.raises(TemporarilyUnavailable) as err:
        calls[action]()
    assert err.value.retry_after >= 1
    # and nothing changed
    assert exchange.store.cash(user) == before_cash
    assert exchange.store.order(user, resting["id"]) == before_order
    assert exchange.store.holding(user, symbol) is None


def test_temporarily_unavailable_is_a_503_envelope_with_retry_after() -> None:
    app = FastAPI()
    errors.install(app)

    @app.get("/busy")
    def busy() -> None:
        raise TemporarilyUnavailable("busy", retry_after=2)

    resp = TestClient(app).get("/busy")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "2"
    assert resp.json() == {"error": {"code": "temporarily_unavailable", "message": "busy", "details": None}}


class RacingStore(ExchangeStore):
    """Both twins look the client_order_id up before either has written it (the race's window)."""

    def order_id_for_client_id(self, user_id: str, client_order_id: str) -> str | None:
        self.lookups = getattr(self, "lookups", 0) + 1
        return None if self.lookups == 1 else super().order_id_for_client_id(user_id, client_order_id)


def test_a_twin_whose_reservation_also_fails_gets_the_existing_order(
    exchange: Exchange, market: tuple[str, str]
) -> None:
    # Given a trader whose cash covers one order, already placed with client_order_id "x"
    symbol, user = market
    cash = exchange.store.cash(user)["available"]
    price = 10_000
    qty = cash // price
    first, created = exchange.orders.place(user, _buy(qty, price, symbol, "x"))
    assert created
    # When its twin (same id, same parameters) had looked the id up before the first was written
    twin, twin_created = Orders(RacingStore("ExchangeTable", boto3.client("dynamodb")), NullQueue()).place(  # type: ignore[arg-type]
        user, _buy(qty, price, symbol, "x")
    )
    # Then it gets the existing order (200), not 422 insufficient_funds, and nothing more is reserved
    assert (twin_created, twin["id"]) == (False, first["id"])
    assert exchange.store.cash(user)["reserved"] == qty * price
    # and a different order that truly lacks the funds is still refused as such
    with pytest.raises(InsufficientFunds):
        exchange.orders.place(user, _buy(qty, price, symbol, "y"))


def test_listing_a_stock_under_contention(exchange: Exchange) -> None:
    # Given a conflict on the first try: the stock is listed once
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    store, client = _contended(1)
    Admin(store).list_stock(symbol, symbol, 10_000, 1)
    assert client.refused == 1
    assert exchange.store.stock(symbol)["reference_price"] == 10_000
    assert json.loads(exchange.store.book(symbol)["bids"]) == []
    # and lasting contention is retryable, not "the stock exists"
    store, _ = _contended(10**6)
    with pytest.raises(TemporarilyUnavailable):
        Admin(store).list_stock(symbol + "Z", symbol, 10_000, 1)
    assert exchange.store.stock(symbol + "Z") is None


def test_session_writes_under_contention(exchange: Exchange) -> None:
    from exchange.adapters.auth_store import AuthStore, LoginClaim

    def auth(conflicts: int) -> AuthStore:
        store = AuthStore("ExchangeTable", ConflictingClient(boto3.client("dynamodb"), conflicts))
        store.table.sleep = lambda _s: None  # type: ignore[method-assign]
        return store

    def family() -> tuple[dict[str, Any], dict[str, Any]]:
        f, h = uuid.uuid4().hex, uuid.uuid4().hex
        token = {"token_hash": h, "family_id": f, "user_id": "u", "status": "active", "created_at": 1}
        return {"family_id": f, "user_id": "u", "created_at": 1, "expires_at": 9}, token

    # Given a conflict on the first try: the login's family and token are stored once
    fam, token = family()
    auth(1).create_family(fam, token)
    assert exchange.store.table.get(f"REFRESHFAM#{fam['family_id']}", "FAMILY")["revoked"] is False
    # and lasting contention is a 503, not a 500, for a login and for a logout
    fam2, token2 = family()
    with pytest.raises(TemporarilyUnavailable):
        auth(10**6).create_family(fam2, token2)
    with pytest.raises(TemporarilyUnavailable):
        auth(10**6).revoke_family(fam["family_id"], "logout", 2)
    # an attempt claim that meets a conflict reads the slots again and still claims exactly one
    subject = f"LOGINFAIL#email:{uuid.uuid4().hex}@example.com"
    claim = auth(1).claim_login_attempt([(subject, 5)], "c1", 1_000, 900_000, 99)
    assert isinstance(claim, LoginClaim)
    assert [i["claim"] for i in exchange.store.table.query("pk = :p", {":p": subject}).items] == ["c1"]
