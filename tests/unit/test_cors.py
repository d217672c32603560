"""CORS (api_app/cors.py, ``CORS_ALLOWED_ORIGINS``): none allowed by default; the configured origins
get preflights answered and credentialed answers, with the contract's headers; a refused preflight
is answered in the error envelope. No AWS: the answers come from the middleware, /api/health and
the body guard."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api_app.main import create_app
from api_app.services import Services
from exchange.settings import ApiSettings
from local_stack.template import load_template

FRONT = "http://localhost:5173"
OTHER = "https://evil.example"


def _settings(origins: str = "") -> ApiSettings:
    return ApiSettings(  # type: ignore[call-arg]
        TABLE_NAME="unused", ORDERS_QUEUE_URL="unused", JWT_SECRET="s" * 48, CORS_ALLOWED_ORIGINS=origins
    )


def _client(origins: str) -> Iterator[TestClient]:
    with TestClient(create_app(Services(_settings(origins))), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def configured() -> Iterator[TestClient]:
    yield from _client(f"{FRONT}, https://app.example.com")


@pytest.fixture(scope="module")
def default() -> Iterator[TestClient]:
    yield from _client("")


def _preflight(
    client: TestClient, origin: str, method: str = "POST", headers: str | None = None
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options("/api/orders", headers=request_headers)


def test_a_preflight_from_a_configured_origin_is_answered(configured: TestClient) -> None:
    # When the front end's browser asks before a POST with a token, a JSON body and the CSRF header
    r = _preflight(configured, FRONT, "POST", "authorization, content-type, x-csrf-token")
    # Then it may: its origin, credentials, the methods and headers the contract's clients use
    assert r.status_code == 200
    h = r.headers
    assert h["access-control-allow-origin"] == FRONT
    assert h["access-control-allow-credentials"] == "true"
    assert {m.strip() for m in h["access-control-allow-methods"].split(",")} == {"GET", "POST", "DELETE"}
    allowed = {x.strip().lower() for x in h["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-csrf-token", "if-none-match"} <= allowed
    assert h["access-control-max-age"] == "600"
    assert "Origin" in h["vary"]


@pytest.mark.parametrize(
    ("origin", "method", "headers", "refused"),
    [
        (OTHER, "POST", "content-type", ["origin"]),
        ("http://localhost:5174", "GET", None, ["origin"]),  # another port is another origin
        (FRONT, "PUT", None, ["method"]),
        (FRONT, "POST", "content-type, x-something", ["headers"]),
    ],
)
def test_a_refused_preflight_is_403_in_the_envelope(
    configured: TestClient, origin: str, method: str, headers: str | None, refused: list[str]
) -> None:
    r = _preflight(configured, origin, method, headers)
    assert r.status_code == 403
    body = r.json()
    assert body["error"]["code"] == "forbidden" and body["error"]["details"] == {"refused": refused}
    if "origin" in refused:  # the browser is told nothing it could use
        assert "access-control-allow-origin" not in r.headers
        assert origin in body["error"]["message"] and "CORS_ALLOWED_ORIGINS" in body["error"]["message"]


def test_a_credentialed_request_from_a_configured_origin_may_be_read(configured: TestClient) -> None:
    # When the front end's GET arrives with its Origin (and the cookies a credentialed fetch sends)
    r = configured.get("/api/health", headers={"Origin": FRONT, "Cookie": "csrf_token=abc"})
    # Then the answer names that origin, allows credentials and exposes the headers clients read
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["access-control-allow-origin"] == FRONT
    assert r.headers["access-control-allow-credentials"] == "true"
    exposed = {x.strip().lower() for x in r.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "etag"} <= exposed
    assert "Origin" in r.headers["vary"]
    # and the other configured origin too (each answered with its own name, never "*")
    r = configured.get("/api/health", headers={"Origin": "https://app.example.com"})
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"


def test_the_body_guards_refusals_carry_the_cors_headers(configured: TestClient) -> None:
    # Given a refused body from the front end (the guard answers before any route)
    r = configured.post(
        "/api/auth/login", content="[" * 1_000, headers={"Origin": FRONT, "Content-Type": "application/json"}
    )
    # Then the browser may read the refusal
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_request"
    assert r.headers["access-control-allow-origin"] == FRONT


def test_another_origin_gets_no_allow_origin(configured: TestClient) -> None:
    r = configured.get("/api/health", headers={"Origin": OTHER})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    # and a response that varies by Origin says so, whatever the Origin (caches keep them apart)
    assert "Origin" in configured.get("/api/health").headers["vary"]


def test_nothing_is_allowed_by_default(default: TestClient) -> None:
    # Given the default configuration (CORS_ALLOWED_ORIGINS empty)
    assert _settings().cors_origins == ()
    # Then a preflight from any origin is refused, and no answer carries an allowed origin
    for origin in (FRONT, OTHER, "null"):
        r = _preflight(default, origin, "GET")
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers
        r = default.get("/api/health", headers={"Origin": origin})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    # and a request without an Origin is as before
    assert default.get("/api/health").json() == {"status": "ok"}


def test_the_setting_takes_origins_only() -> None:
    # a list with spaces, upper case, an IPv6 loopback: normalised as browsers send Origin
    assert _settings(" http://localhost:5173 ,HTTPS://App.Example.com,http://[::1]:3000").cors_origins == (
        "http://localhost:5173",
        "https://app.example.com",
        "http://[::1]:3000",
    )
    # refused at cold start: a wildcard (credentials are allowed), a path, no scheme, another scheme
    for bad in ("*", "http://localhost:5173/", "https://a.example/app", "localhost:5173", "ftp://a", "null"):
        with pytest.raises(ValidationError, match="CORS_ALLOWED_ORIGINS"):
            _settings(bad)


def test_on_aws_the_preflight_reaches_the_function() -> None:
    # API Gateway REST: OPTIONS must reach the api function (its CORSMiddleware answers it), so the
    # proxy resource takes ANY method, with no authorizer (a preflight carries no token) and no
    # SAM-made CORS (a mock OPTIONS answer of its own, the same for every origin)
    resources = load_template()["Resources"]
    api = resources["RestApi"]["Properties"]
    assert "Cors" not in api and "Auth" not in api
    function = resources["ApiFunction"]["Properties"]
    proxy = function["Events"]["Proxy"]["Properties"]
    assert proxy["Path"] == "/api/{proxy+}" and proxy["Method"].upper() == "ANY" and "Auth" not in proxy
    # and the origins are the template's parameter, none by default
    assert function["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"] == {"Ref": "CorsAllowedOrigins"}
    assert load_template()["Parameters"]["CorsAllowedOrigins"]["Default"] == ""
