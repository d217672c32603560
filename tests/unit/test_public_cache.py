"""Public caching (api_app/caching.py, API.md "Public caching"): Cache-Control and ETag on public
market data, 304 on If-None-Match, no-store elsewhere, nothing on errors, and the in-memory cache
that never serves an answer older than its max-age. No AWS: the market use case is a fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api_app import caching
from api_app.main import create_app
from api_app.services import Services
from exchange.domain.errors import UnknownSymbol
from exchange.settings import ApiSettings


class FakeMarket:
    def __init__(self) -> None:
        self.reads = 0
        self.last = "10.00"

    def stocks(self) -> list[dict[str, Any]]:
        self.reads += 1
        return [self.stock("ACME")]

    def stock(self, symbol: str) -> dict[str, Any]:
        if symbol != "ACME":
            raise UnknownSymbol(f"no stock {symbol}")
        return {
            "symbol": "ACME", "name": "Acme", "tick_size": "0.01", "last_price": self.last,
            "reference_price": "10.00", "open": None, "high": None, "low": None, "volume": 0,
            "change_percent": None, "best_bid": None, "best_ask": None,
            "updated_at": "2026-12-01T00:00:00.000Z", "status": "trading",
        }  # fmt: skip

    def orderbook(self, symbol: str, depth: int) -> dict[str, Any]:
        self.reads += 1
        self.stock(symbol)
        return {"symbol": symbol, "bids": [], "asks": [], "sequence": 0, "timestamp": None}

    def candles(self, symbol: str, interval: str, start: int | None, end: int | None) -> list[Any]:
        return []


@pytest.fixture
def market() -> FakeMarket:
    return FakeMarket()


@pytest.fixture
def api(market: FakeMarket, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PUBLIC_MEMO_SECONDS", "0")  # the headers alone; the memo has its own tests
    services = Services(
        ApiSettings(TABLE_NAME="unused", ORDERS_QUEUE_URL="unused", JWT_SECRET="s" * 48)  # type: ignore[call-arg]
    )
    services.__dict__["market"] = market  # the cached_property's slot
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client


def test_public_market_data_is_cacheable_with_an_etag(api: TestClient) -> None:
    for path in ("/api/stocks", "/api/stocks/ACME", "/api/stocks/ACME/orderbook?depth=5"):
        r = api.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, max-age=1"
        assert r.headers["etag"] == caching.etag_of(r.content)
        assert not r.headers["etag"].startswith("W/")  # strong


def test_a_matching_if_none_match_gets_304_with_no_body(api: TestClient) -> None:
    etag = api.get("/api/stocks/ACME").headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = api.get("/api/stocks/ACME", headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.content == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "public, max-age=1"
    assert api.get("/api/stocks/ACME", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_change_gives_a_new_etag_and_the_old_one_no_longer_matches(
    api: TestClient, market: FakeMarket
) -> None:
    before = api.get("/api/stocks/ACME").headers["etag"]
    market.last = "10.05"  # a trade
    r = api.get("/api/stocks/ACME", headers={"If-None-Match": before})
    assert r.status_code == 200
    assert r.json()["last_price"] == "10.05"
    assert r.headers["etag"] != before


def test_errors_carry_no_cache_headers(api: TestClient) -> None:
    for path in ("/api/stocks/NOPE", "/api/stocks/ACME/orderbook?depth=101"):
        r = api.get(path, headers={"If-None-Match": "*"})
        assert r.status_code in (404, 422), path
        assert "cache-control" not in r.headers
        assert "etag" not in r.headers


def test_other_successful_answers_are_no_store(api: TestClient) -> None:
    r = api.get("/api/health")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "etag" not in r.headers


def test_candles_of_a_closed_window_live_longer(api: TestClient) -> None:
    closed = api.get("/api/stocks/ACME/candles", params={"interval": "1h", "to": "2026-01-01T00:00:00.000Z"})
    assert closed.headers["cache-control"] == f"public, max-age={caching.CLOSED_MAX_AGE}"
    assert api.get("/api/stocks/ACME/candles").headers["cache-control"] == "public, max-age=1"
    future = api.get("/api/stocks/ACME/candles", params={"to": "2999-01-01T00:00:00.000Z"})
    assert future.headers["cache-control"] == "public, max-age=1"


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"a"', True), ('W/"a"', True), ('"b", "a"', True), (' "b" ,W/"a" ', True), ("*", True),
        ('"b"', False), ("a", False), ('"a', False), ("", False), (None, False),
    ],
)  # fmt: skip
def test_if_none_match_parsing(header: str | None, matches: bool) -> None:
    assert caching.none_match(header, '"a"') is matches


# ---------------------------------------------------------------- the in-memory cache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _memo_app(market: FakeMarket, clock: Clock, max_age: int = 1) -> TestClient:
    app = FastAPI()

    @app.get("/api/book", dependencies=[caching.public(max_age)])
    def book() -> dict[str, Any]:
        return market.orderbook("ACME", 10)

    @app.get("/api/private")
    def private() -> dict[str, Any]:
        return market.orderbook("ACME", 10)

    settings = caching.CacheSettings(PUBLIC_MEMO_SECONDS=1.0, PUBLIC_MEMO_ENTRIES=2)
    return TestClient(caching.PublicCache(app, settings, clock=clock))


def test_the_memo_serves_within_the_max_age_and_never_after(market: FakeMarket) -> None:
    clock = Clock()
    client = _memo_app(market, clock)
    first = client.get("/api/book")
    clock.now += 0.9
    again = client.get("/api/book")
    assert market.reads == 1  # the second came from memory
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert again.headers["age"] == "0"
    assert client.get("/api/book", headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    clock.now += 0.1  # exactly max-age old: not served any more
    client.get("/api/book")
    assert market.reads == 2


def test_the_memo_is_bypassed_by_no_cache_and_never_keeps_private_answers(market: FakeMarket) -> None:
    clock = Clock()
    client = _memo_app(market, clock)
    client.get("/api/book")
    client.get("/api/book", headers={"Cache-Control": "no-cache"})
    assert market.reads == 2
    client.get("/api/private")
    client.get("/api/private")
    assert market.reads == 4


def test_the_memo_keeps_at_most_its_entries(market: FakeMarket) -> None:
    clock = Clock()
    client = _memo_app(market, clock)
    for q in ("a", "b", "c", "a"):
        client.get(f"/api/book?x={q}")
    assert market.reads == 4  # "a" was dropped when "c" came
