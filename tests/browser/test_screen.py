"""The trading screen in a real browser (issue 11, item 3): two traders use the page against the local
stack — one registers through the page, one logs in — and a crossing pair of orders placed through the
page's ticket shows up, live over the WebSocket, as a fill, a portfolio change and a tape row on both
pages. The page's screenshot is saved under tests/browser/artifacts/."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.conftest import ADMIN, bearer

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
TIMEOUT_MS = 15_000


def wait_true(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Wait until a JavaScript expression is true on the page. Polled from here through
    ``page.evaluate`` (the DevTools protocol, which the page's CSP does not govern): Playwright's own
    ``wait_for_function`` polls by evaluating the string inside the page, which the screen's
    ``script-src 'self'`` (no 'unsafe-eval') refuses whenever the first check is not yet true."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def _symbol() -> str:
    return "".join(chr(ord("A") + int(c, 16) % 26) for c in uuid.uuid4().hex[:6])


@pytest.fixture
def http(stack: LocalStack) -> Any:
    with httpx.Client(base_url=stack.api_url.removesuffix("/api"), timeout=10) as client:
        yield client


def _admin(http: httpx.Client) -> dict[str, str]:
    r = http.post("/api/auth/login", json=ADMIN)
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def _user(http: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
    r = http.post(
        "/api/auth/register",
        json={"email": f"{name}-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    return r.json()["user"]["id"], bearer(r.json()["access_token"])


def _earlier_trades(http: httpx.Client, admin: dict[str, str], symbol: str) -> None:
    """A few trades between two other traders before the pages open: the tape and the candle have
    history (each pair crosses in the stock's sequence, so no waiting between them)."""
    maker_id, maker = _user(http, "maker")
    _, taker = _user(http, "taker")
    r = http.post(
        f"/api/admin/users/{maker_id}/grant", headers=admin, json={"symbol": symbol, "quantity": 100}
    )
    assert r.status_code == 200, r.text
    prices = ("100.20", "100.80", "99.90", "100.40", "101.10", "100.70")
    for i, price in enumerate(prices):
        for side, headers in (("sell", maker), ("buy", taker)):
            order = {"symbol": symbol, "side": side, "type": "limit", "quantity": 3 + i, "limit_price": price}
            r = http.post("/api/orders", headers=headers, json=order)
            assert r.status_code == 201, r.text
    deadline = time.monotonic() + 15
    while len(http.get(f"/api/stocks/{symbol}/trades").json()["trades"]) < len(prices):
        assert time.monotonic() < deadline, "the earlier trades did not execute"
        time.sleep(0.1)


def _open(browser: Any, stack: LocalStack, symbol: str, *, ws_route: Any = None) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    if ws_route is not None:
        page.route_web_socket(lambda url: True, ws_route)
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    # Chromium logs every 4xx answer as a console error: the test's one expected refusal is the 422
    expected = "the server responded with a status of 422"
    page.on(
        "console", lambda m: problems.append(m.text) if m.type == "error" and expected not in m.text else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems  # type: ignore[attr-defined]
    page.goto(stack.api_url.removesuffix("api") + f"#{symbol}")
    page.wait_for_selector("body[data-ready='1']")
    return page


def _sign_in(page: Any, email: str, *, register: bool) -> None:
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("#register" if register else "#login")
    page.wait_for_selector("#who:not([hidden])")
    page.wait_for_selector("#ws-status[data-state='live']")
    wait_true(page, "document.querySelector('#ws-status').textContent.includes('signed in')")


def _ticket(page: Any, side: str, quantity: int, price: str) -> None:
    page.click(f".side.{side}")
    page.select_option("#t-type", "limit")
    page.fill("#t-qty", str(quantity))
    page.fill("#t-limit", price)
    page.click("#t-submit")


def test_two_traders_cross_through_the_page_and_see_fill_portfolio_and_tape(
    browser: Any, stack: LocalStack, http: httpx.Client, artifacts: Path
) -> None:
    # Given a new stock, a seller with 50 shares of it (registered over the API, logs in on the page)
    admin = _admin(http)
    symbol = _symbol()
    r = http.post(
        "/api/admin/stocks",
        headers=admin,
        json={"symbol": symbol, "name": f"Screen {symbol}", "reference_price": "100.00"},
    )
    assert r.status_code == 201, r.text
    _earlier_trades(http, admin, symbol)
    seller_email = f"seller-{uuid.uuid4().hex[:8]}@example.com"
    r = http.post("/api/auth/register", json={"email": seller_email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post(
        f"/api/admin/users/{r.json()['user']['id']}/grant",
        headers=admin,
        json={"symbol": symbol, "quantity": 50},
    )
    assert r.status_code == 200, r.text
    # and each trader on the page in a browser profile of their own (a buyer registers on the page)
    seller = _open(browser, stack, symbol)
    _sign_in(seller, seller_email, register=False)
    buyer = _open(browser, stack, symbol)
    _sign_in(buyer, f"buyer-{uuid.uuid4().hex[:8]}@example.com", register=True)
    wait_true(buyer, "document.querySelector('#cash-available').textContent === '100,000.00'")
    seller.wait_for_selector(f"#holdings tr[data-holding='{symbol}']")
    assert seller.text_content(f"#holdings tr[data-holding='{symbol}'] td:nth-child(2)") == "50"

    # When the seller offers 10 at 101.50 through the ticket
    _ticket(seller, "sell", 10, "101.50")
    # Then the order rests: it is in the seller's open orders and on both pages' book (live)
    seller.wait_for_selector(f"#open-orders tr:has-text('{symbol}')")
    buyer.wait_for_selector("#asks .lrow:has-text('101.50')")

    # When the buyer bids 10 at 102.00 through the ticket (it crosses at the resting price)
    _ticket(buyer, "buy", 10, "102.00")
    # Then the buyer sees the fill at 101.50, the holding of 10 and the trade on the tape
    buyer.wait_for_selector("#fills tr:has-text('101.50')")
    fill = buyer.locator("#fills tr").first.locator("td").all_text_contents()
    assert fill[1:] == [symbol, "buy", "101.50", "10"], fill
    buyer.wait_for_selector(f"#holdings tr[data-holding='{symbol}']")
    assert buyer.text_content(f"#holdings tr[data-holding='{symbol}'] td:nth-child(2)") == "10"
    wait_true(buyer, "document.querySelector('#cash-available').textContent === '98,985.00'")
    assert buyer.text_content("#cash-reserved") == "0.00"
    wait_true(buyer, "document.querySelector('#t-msg').textContent.endsWith('filled (10 filled at 101.50)')")
    assert symbol not in (buyer.text_content("#open-orders") or "")  # filled: not open
    tape = buyer.locator("#tape tr").first.locator("td").all_text_contents()
    assert tape[1:] == ["101.50", "10"], tape
    assert buyer.text_content(f"#stock-list tr[data-symbol='{symbol}'] td:nth-child(2)") == "101.50"
    assert buyer.text_content(f"#stock-list tr[data-symbol='{symbol}'] td:nth-child(3)") == "+1.50%"
    # and the seller's page: the order left the open orders, the fill, 40 shares and the cash
    seller.wait_for_selector("#fills tr:has-text('101.50')")
    wait_true(seller, f"!document.querySelector('#open-orders').textContent.includes('{symbol}')")
    wait_true(seller, "document.querySelector('#cash-available').textContent === '101,015.00'")
    held = f"#holdings tr[data-holding='{symbol}'] td:nth-child(2)"
    wait_true(seller, f'document.querySelector("{held}").textContent === "40"')
    seller.wait_for_selector("#tape tr:has-text('101.50')")
    # and the book is empty again on both pages
    wait_true(buyer, "document.querySelector('#asks').children.length === 0")

    # When the buyer tries a market order on the now empty book: the API's message is shown
    buyer.click(".side.buy")
    buyer.select_option("#t-type", "market")
    buyer.click("#t-submit")
    buyer.wait_for_selector("#t-msg.error")
    assert buyer.text_content("#t-msg") == "the opposite side of the book is empty"  # no_liquidity's message

    # A book with depth for the screenshot: the seller's asks and the buyer's bids on a few levels
    for price, quantity in (("102.00", 4), ("102.50", 9), ("103.00", 14)):
        _ticket(seller, "sell", quantity, price)
        seller.wait_for_selector(f"#asks .lrow:has-text('{price}')")
    for price, quantity in (("100.50", 6), ("100.00", 11)):
        _ticket(buyer, "buy", quantity, price)
        buyer.wait_for_selector(f"#bids .lrow:has-text('{price}')")
    buyer.wait_for_selector("#asks .lrow:has-text('103.00')")
    buyer.select_option("#t-type", "limit")
    buyer.fill("#t-limit", "101.00")
    buyer.screenshot(path=str(artifacts / "screen.png"), full_page=True)
    # The access token is kept in memory only; a reload signs in again through the HttpOnly refresh
    # cookie (with the CSRF header) and shows the same account
    assert buyer.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "refresh_token" not in buyer.evaluate("document.cookie")
    buyer.reload()
    buyer.wait_for_selector("body[data-ready='1']")
    buyer.wait_for_selector("#who:not([hidden])")
    buyer.wait_for_selector("#fills tr:has-text('101.50')")
    buyer.wait_for_selector("#ws-status[data-state='live']")
    # and neither page logged an error (a CSP violation, a failed module, an uncaught exception)
    assert seller.problems == [] and buyer.problems == [], (seller.problems, buyer.problems)


def test_a_gap_in_the_book_sequence_makes_the_page_fetch_the_book_again(
    browser: Any, stack: LocalStack, http: httpx.Client
) -> None:
    # Given a page whose WebSocket loses the stock's book updates while `dropping` is set
    admin = _admin(http)
    symbol = _symbol()
    r = http.post(
        "/api/admin/stocks", headers=admin, json={"symbol": symbol, "name": "Gap", "reference_price": "50.00"}
    )
    assert r.status_code == 201, r.text
    seller_id, seller = _user(http, "gap-seller")
    r = http.post(
        f"/api/admin/users/{seller_id}/grant", headers=admin, json={"symbol": symbol, "quantity": 20}
    )
    assert r.status_code == 200, r.text
    dropping = {"on": False, "dropped": 0}

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def down(message: str | bytes) -> None:
            event = json.loads(message)
            lost = event.get("type") == "ORDER_BOOK_UPDATED" and event["data"]["symbol"] == symbol
            if lost and dropping["on"]:
                dropping["dropped"] += 1
                return
            ws.send(message)

        server.on_message(down)

    page = _open(browser, stack, symbol, ws_route=route)
    page.wait_for_selector("#ws-status[data-state='live']")
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url) if f"/{symbol}/orderbook" in req.url else None)

    # When one book update is lost (sequence 1), then the next (sequence 2) arrives
    def sell(price: str) -> None:
        order = {"symbol": symbol, "side": "sell", "type": "limit", "quantity": 5, "limit_price": price}
        assert http.post("/api/orders", headers=seller, json=order).status_code == 201

    dropping["on"] = True
    sell("51.00")
    deadline = time.monotonic() + 15
    while dropping["dropped"] == 0:
        assert time.monotonic() < deadline, "the first book update never came"
        page.wait_for_timeout(50)
    dropping["on"] = False
    sell("52.00")
    # Then the page noticed the gap and fetched the book over REST, and shows both levels
    page.wait_for_selector("#asks .lrow:has-text('52.00')")
    page.wait_for_selector("#asks .lrow:has-text('51.00')")
    assert fetched, "no REST re-fetch of the book after the gap"
    book = http.get(f"/api/stocks/{symbol}/orderbook").json()
    wait_true(page, f"document.querySelector('#book-seq').textContent === 'seq {book['sequence']}'")


def test_the_ticket_offers_the_order_types_of_the_openapi_document_and_shows_the_apis_refusal(
    browser: Any, stack: LocalStack, http: httpx.Client
) -> None:
    # Given an OpenAPI document that also offers stop and stop_limit orders (with a stop_price)
    doc = http.get("/openapi.json").json()
    if "stop_limit" not in json.dumps(doc):  # the api does not have them yet: a document that does
        schema = doc["components"]["schemas"]["OrderIn"]
        schema["properties"]["type"] = {"type": "string", "enum": ["limit", "market", "stop", "stop_limit"]}
        schema["properties"]["stop_price"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    email = f"ticket-{uuid.uuid4().hex[:8]}@example.com"
    assert http.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.route("**/openapi.json", lambda route: route.fulfill(json=doc))
    page.goto(stack.api_url.removesuffix("api") + "#ACME")
    page.wait_for_selector("body[data-ready='1']")
    _sign_in(page, email, register=False)
    # Then the ticket lists every type, and a stop limit order asks for both prices, gtc or day
    options = page.locator("#t-type option").all_text_contents()
    assert options == ["Limit", "Market", "Stop", "Stop limit"], options
    page.select_option("#t-type", "stop_limit")
    assert page.is_visible("#t-stop") and page.is_visible("#t-limit")
    assert page.locator("#t-tif option").all_text_contents() == ["GTC", "DAY"]
    page.select_option("#t-type", "market")
    assert not page.is_visible("#t-stop") and not page.is_visible("#t-limit")
    assert page.locator("#t-tif option").all_text_contents() == ["IOC"]
    page.select_option("#t-type", "stop")
    assert page.is_visible("#t-stop") and not page.is_visible("#t-limit")
    # When a buy of more than the cash allows is sent: the page shows the API's own message
    page.select_option("#t-type", "limit")
    page.fill("#t-qty", "1000000")
    page.fill("#t-limit", "100.00")
    page.click("#t-submit")
    page.wait_for_selector("#t-msg.error")
    token = http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
    order = {"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 1000000, "limit_price": "100.00"}
    refusal = http.post("/api/orders", headers=bearer(token), json=order)
    assert refusal.status_code == 422 and refusal.json()["error"]["code"] == "insufficient_funds"
    assert page.text_content("#t-msg") == refusal.json()["error"]["message"]
    context.close()
