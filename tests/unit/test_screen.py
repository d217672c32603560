"""The trading screen's routes, in process: the page and every asset it names, content types,
caching (versioned assets cached for a year, the page no-cache), the CSP, and the WebSocket URL the
page is given (issue 11, item 2)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api_app import screen
from api_app.main import create_app
from api_app.services import Services
from exchange.settings import ApiSettings
from local_stack.template import load_template

SECRET = "unit-test-secret-unit-test-secret-0123456789"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    services = Services(ApiSettings(TABLE_NAME="unused", ORDERS_QUEUE_URL="unused", JWT_SECRET=SECRET))
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


def _refs(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(static/[^"]+)"', html)


def test_the_page_is_served_no_cache_with_a_csp_of_self(client: TestClient) -> None:
    # When the page is fetched
    r = client.get("/")
    # Then it is HTML, revalidated on every load, and allows scripts and styles from this origin only
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    loaded = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', r.text)
    assert loaded and all(not u.startswith(("http:", "https:", "//", "/")) for u in loaded), loaded  # no CDN
    assert "{{" not in r.text  # every placeholder filled


def test_every_asset_the_page_names_is_served_versioned_with_its_type_and_a_long_max_age(
    client: TestClient,
) -> None:
    # Given the assets the page names (relative URLs: they resolve under /<stage>/ on AWS too)
    refs = _refs(client.get("/").text)
    assert {r.rsplit("/", 1)[1] for r in refs} == {"favicon.svg", "screen.css", "app.js"}
    version = screen.assets().version
    assert all(r.startswith(f"static/{version}/") for r in refs)
    # Then each is served with its content type and cached for a year
    types = {"app.js": "text/javascript", "screen.css": "text/css", "favicon.svg": "image/svg+xml"}
    for ref in refs:
        r = client.get(f"/{ref}")
        assert r.status_code == 200, ref
        assert r.headers["content-type"].startswith(types[ref.rsplit("/", 1)[1]]), ref
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_modules_that_app_js_imports_are_served_in_the_same_version(client: TestClient) -> None:
    # Given the relative imports of the page's modules
    version = screen.assets().version
    app_js = client.get(f"/static/{version}/app.js").text
    imports = re.findall(r'from "\./([^"]+)"', app_js)
    assert "vendor/lightweight-charts-5.2.1.standalone.production.mjs" in imports
    # Then each resolves (against static/<version>/) to a JavaScript file
    for name in imports:
        r = client.get(f"/static/{version}/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith("text/javascript"), name
    # and the vendored chart library ships with its licence
    assert "Apache License" in client.get(f"/static/{version}/vendor/lightweight-charts-5.2.1.LICENSE").text


def test_another_version_or_an_unknown_file_is_a_404_envelope(client: TestClient) -> None:
    version = screen.assets().version
    for path in (
        f"/static/{'0' * 12}/app.js",
        f"/static/{version}/nope.js",
        f"/static/{version}/../screen.py",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"
        assert "max-age=31536000" not in r.headers.get("cache-control", "")


def test_the_index_template_itself_is_not_an_asset(client: TestClient) -> None:
    assert client.get(f"/static/{screen.assets().version}/index.html").status_code == 404


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({"WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:8001/dev"}, "ws://127.0.0.1:8001/"),
        (
            {"WS_MANAGEMENT_ENDPOINT": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"},
            "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        ),
        (
            {"WS_MANAGEMENT_ENDPOINT": "http://x/dev", "SCREEN_WS_URL": "wss://ws.example.com/"},
            "wss://ws.example.com/",
        ),
        ({}, ""),
    ],
)
def test_the_websocket_url_comes_from_the_management_endpoint(environ: dict[str, str], url: str) -> None:
    assert screen.websocket_url(environ) == url


def test_the_csp_allows_the_websocket_url_and_nothing_else_to_connect() -> None:
    policy = screen.csp("wss://abc.execute-api.us-east-1.amazonaws.com/dev")
    assert "connect-src 'self' wss://abc.execute-api.us-east-1.amazonaws.com/dev;" in policy
    assert "connect-src 'self';" in screen.csp("")


def test_the_template_routes_the_page_and_its_assets_to_the_api_function() -> None:
    # On AWS the page is at the stage's root (ScreenUrl), its assets below /static/, both GET
    function = load_template()["Resources"]["ApiFunction"]["Properties"]
    events = {e["Properties"]["Path"]: e["Properties"]["Method"] for e in function["Events"].values()}
    assert events["/"] == "GET" and events["/static/{proxy+}"] == "GET"
    # and the function knows the WebSocket API's endpoint, from which the page's WebSocket URL comes
    assert "WebSocketApi" in str(function["Environment"]["Variables"]["WS_MANAGEMENT_ENDPOINT"])
    assert "ScreenUrl" in load_template()["Outputs"]
