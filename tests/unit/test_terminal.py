"""The terminal client's pure parts: argument parsing into order bodies, the renderings, the live
view's event handling, the 0600 session file, and the refresh (cookie + CSRF) on a fake server."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from tools.terminal import render
from tools.terminal.cli import order_body, parser
from tools.terminal.client import Api, api_root
from tools.terminal.session import ApiError, Session
from tools.terminal.watch import MarketView


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def _text(renderable: Any) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(
    ("argv", "body"),
    [
        (["buy", "acme", "10", "101.25"], {"type": "limit", "limit_price": "101.25"}),
        (["sell", "ACME", "10"], {"type": "market"}),
        (["buy", "ACME", "10", "--stop", "105"], {"type": "stop", "stop_price": "105"}),
        (["buy", "ACME", "10", "106", "--stop", "105"],
         {"type": "stop_limit", "stop_price": "105", "limit_price": "106"}),
        (["buy", "ACME", "10", "99", "--tif", "ioc", "--client-order-id", "c-1"],
         {"type": "limit", "limit_price": "99", "time_in_force": "ioc", "client_order_id": "c-1"}),
    ],
)  # fmt: skip
def test_place_arguments_become_the_order_body(argv: list[str], body: dict[str, Any]) -> None:
    args = parser().parse_args(["place", *argv])
    assert order_body(args) == {"symbol": "ACME", "side": argv[0], "quantity": 10, **body}


def test_bad_arguments_exit_2() -> None:
    for argv in (["place", "hold", "ACME", "1"], ["place", "buy", "ACME", "ten"], ["frobnicate"], []):
        with pytest.raises(SystemExit) as exc:
            parser().parse_args(argv)
        assert exc.value.code == 2


def test_the_base_url_is_taken_with_or_without_api() -> None:
    assert api_root("http://h:1/api/") == api_root("http://h:1") == "http://h:1"
    assert parser().parse_args(["--url", "https://x.example/dev/api", "stocks"]).url.endswith("/api")


BOOK = {
    "symbol": "ACME",
    "sequence": 7,
    "timestamp": None,
    "bids": [{"price": "10.00", "quantity": 5, "orders": 2}, {"price": "9.99", "quantity": 1, "orders": 1}],
    "asks": [{"price": "10.02", "quantity": 3, "orders": 1}],
}
TRADE = {
    "id": "T1",
    "price": "10.01",
    "quantity": 4,
    "aggressor_side": "buy",
    "executed_at": "2026-12-02T12:00:01.250Z",
}


def test_the_book_shows_both_sides_best_first() -> None:
    text = _text(render.book_table(BOOK))
    assert "ACME order book (seq 7)" in text
    rows = [line for line in text.splitlines() if "10.00" in line or "9.99" in line]
    assert "10.02" in rows[0] and "5" in rows[0] and "9.99" in rows[1]
    assert "-" in _text(render.book_table({**BOOK, "bids": [], "asks": []}))


def test_trades_orders_and_portfolio_render() -> None:
    assert "12:00:01.250" in (t := _text(render.trades_table([TRADE]))) and "10.01" in t and "buy" in t
    order = {
        "id": "O1", "symbol": "ACME", "side": "buy", "type": "limit", "time_in_force": "gtc", "quantity": 5,
        "filled_quantity": 5, "limit_price": "10.00", "average_fill_price": "10.00", "status": "filled",
        "created_at": "2026-12-02T12:00:00.000Z",
    }  # fmt: skip
    assert "filled" in _text(render.orders_table([order]))
    assert render.order_summary(order) == "filled: buy 5 ACME limit @ 10.00 (filled 5) id O1"
    portfolio = {
        "cash": {"available": "1.00", "reserved": "2.00", "total": "3.00"},
        "equity": "53.00", "realized_pnl": "0.00",
        "holdings": [{"symbol": "ACME", "quantity": 5, "available_quantity": 5, "reserved_quantity": 0,
                      "average_cost": "10.00", "last_price": "10.00", "market_value": "50.00",
                      "unrealized_pnl": "0.00"}],
    }  # fmt: skip
    text = _text(render.portfolio_view(portfolio))
    assert "3.00 total" in text and "equity 53.00" in text and "50.00" in text


def test_the_live_view_takes_newer_books_and_each_trade_once() -> None:
    view = MarketView(BOOK, [TRADE])
    older = {"type": "ORDER_BOOK_UPDATED", "data": {**BOOK, "sequence": 6, "bids": []}}
    assert view.apply(older) is None and view.book["bids"]
    newer = {"type": "ORDER_BOOK_UPDATED", "data": {**BOOK, "sequence": 9, "bids": []}}  # a gap: still whole
    assert view.apply(newer) == "book seq 9: bid - / ask 10.02"
    trade = {"type": "TRADE_EXECUTED", "data": {**TRADE, "trade_id": "T2", "price": "10.02", "sequence": 2}}
    assert view.apply(trade) == "trade 4 @ 10.02 (buy aggressor) 12:00:01.250"
    assert view.apply(trade) is None  # a redelivery
    assert (
        view.apply({"type": "TRADE_EXECUTED", "data": {**TRADE, "trade_id": "T1"}}) is None
    )  # in the snapshot
    assert [t["id"] for t in view.trades] == ["T2", "T1"]
    assert "ACME tape" in _text(render.watch_view(view.book, view.trades))


def test_the_session_file_is_0600_in_the_config_dir(config_home: Path) -> None:
    Session("http://h", "a@b.c", "tok", time.time() + 60, "rt", "csrf").save()
    path = config_home / "exchange-terminal" / "session.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert Session.load() == Session(**json.loads(path.read_text()))


def _server(seen: list[httpx.Request], access: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/auth/refresh":
            assert request.headers["x-csrf-token"] == "csrf-1"
            assert "refresh_token=rt-1" in request.headers["cookie"]
            access.append("tok-2")
            return httpx.Response(
                200,
                json={
                    "user": {"email": "a@b.c"},
                    "access_token": "tok-2",
                    "expires_in": 900,
                    "csrf_token": "csrf-2",
                },
                headers=[
                    ("set-cookie", "refresh_token=rt-2; HttpOnly; Path=/api/auth; SameSite=strict"),
                    ("set-cookie", "csrf_token=csrf-2; Path=/; SameSite=strict"),
                ],
            )
        if request.headers.get("authorization") != f"Bearer {access[-1]}":
            return httpx.Response(
                401, json={"error": {"code": "token_expired", "message": "expired", "details": None}}
            )
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle)


def test_an_expiring_token_is_refreshed_first_and_the_rotated_cookies_saved() -> None:
    # Given a saved session whose access token expires in 10 s
    Session("http://h", "a@b.c", "tok-1", time.time() + 10, "rt-1", "csrf-1").save()
    seen: list[httpx.Request] = []
    api = Api("http://h/api", transport=_server(seen, ["tok-1"]))
    # When a command needs it
    assert api.call("GET", "/api/portfolio", auth=True) == {"ok": True}
    # Then it was refreshed first (cookie + CSRF header), and the new session saved
    assert [r.url.path for r in seen] == ["/api/auth/refresh", "/api/portfolio"]
    saved = Session.load()
    assert saved is not None and (saved.access_token, saved.refresh_token, saved.csrf_token) == (
        "tok-2", "rt-2", "csrf-2"
    )  # fmt: skip


def test_a_token_the_api_calls_expired_is_refreshed_and_the_call_retried_once() -> None:
    Session("http://h", "a@b.c", "tok-0", time.time() + 600, "rt-1", "csrf-1").save()
    seen: list[httpx.Request] = []
    api = Api("http://h", transport=_server(seen, ["tok-1"]))  # the server no longer takes tok-0
    assert api.call("GET", "/api/orders", auth=True) == {"ok": True}
    assert [r.url.path for r in seen] == ["/api/orders", "/api/auth/refresh", "/api/orders"]


def test_without_a_session_an_authenticated_call_says_so() -> None:
    api = Api("http://h", transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(ApiError, match="not logged in"):
        api.call("GET", "/api/portfolio", auth=True)
    with pytest.raises(ApiError, match="HTTP 500"):
        api.call("GET", "/api/stocks")


class FakeSocket:
    """Hands out the given events, then times out like a quiet connection."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = [json.dumps(e) for e in events]

    def recv(self, timeout: float) -> str:
        if self.events:
            return self.events.pop(0)
        time.sleep(min(timeout, 0.05))
        raise TimeoutError


def test_watch_on_a_terminal_updates_the_live_view() -> None:
    # Given a terminal console and a stock channel that pushes one trade and the book after it
    from tools.terminal.watch import _loop

    console = Console(record=True, width=120, force_terminal=True, color_system=None)
    trade = {"type": "TRADE_EXECUTED", "data": {**TRADE, "trade_id": "T9", "price": "10.02"}}
    book = {"type": "ORDER_BOOK_UPDATED", "data": {**BOOK, "sequence": 8, "asks": []}}
    # When it is watched for a moment
    _loop(FakeSocket([trade, book]), MarketView(BOOK, []), console, seconds=0.3)  # type: ignore[arg-type]
    # Then the live view showed the new tape and book (and no per-line output, which is for pipes)
    text = console.export_text()
    assert "ACME order book (seq 8)" in text and "10.02" in text and "ACME tape" in text
    assert "trade 4 @ 10.02" not in text
