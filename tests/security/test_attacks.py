"""One test per attack, each over real HTTP or WebSocket against the local stack (issue 4)."""

from __future__ import annotations

import base64
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.security.conftest import ADMIN, PASSWORD, bearer, fresh_loopback

pytestmark = pytest.mark.e2e
ISS, AUD = "exchange-simulator", "exchange-simulator-api"


# ---------------------------------------------------------------- helpers
def error_code(r: httpx.Response) -> str:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return str(body["error"]["code"])


def claims(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": user_id, "role": "trader", "iat": now, "exp": now + 600, "iss": ISS, "aud": AUD}
    base["jti"] = uuid.uuid4().hex
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def set_cookies(r: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers of a response, by cookie name (the whole header line)."""
    return {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}


def refresh(client: httpx.Client, csrf: str | None = None) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf if csrf is not None else client.cookies.get("csrf_token", "")}
    return client.post("/api/auth/refresh", headers=headers)


def wrong_logins(client: httpx.Client, email: str, n: int) -> None:
    for _ in range(n):
        r = client.post("/api/auth/login", json={"email": email, "password": "not the password"})
        assert r.status_code == 401, r.text


@pytest.fixture
def trader(register: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return register("attacked")


# ---------------------------------------------------------------- access tokens
def test_alg_none_token_is_refused(http: httpx.Client, trader: dict[str, Any]) -> None:
    # Given a token that names no algorithm and carries no signature
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(trader['user']['id']))}."
    # When it is presented
    r = http.get("/api/auth/me", headers=bearer(token))
    # Then it is refused
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_token_signed_with_another_algorithm_is_refused(
    http: httpx.Client, trader: dict[str, Any], jwt_secret: str, alg: str
) -> None:
    # Given a token signed with the right key but another algorithm than the pinned HS256
    token = jwt.encode(claims(trader["user"]["id"]), jwt_secret, algorithm=alg)
    # When / Then
    r = http.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_token_signed_with_a_wrong_key_is_refused(http: httpx.Client, trader: dict[str, Any]) -> None:
    # Given a well-formed HS256 token signed with some other key
    token = jwt.encode(claims(trader["user"]["id"]), "x" * 48, algorithm="HS256")
    # When / Then
    r = http.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


@pytest.mark.parametrize(("claim", "value"), [("aud", "another-api"), ("iss", "someone-else")])
def test_token_for_another_audience_or_issuer_is_refused(
    http: httpx.Client, trader: dict[str, Any], jwt_secret: str, claim: str, value: str
) -> None:
    # Given a correctly signed token minted for another audience / by another issuer
    token = jwt.encode(claims(trader["user"]["id"], **{claim: value}), jwt_secret, algorithm="HS256")
    # When / Then
    r = http.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_expired_token_is_refused_as_expired(
    http: httpx.Client, trader: dict[str, Any], jwt_secret: str
) -> None:
    # Given a correctly signed token that expired a minute ago
    past = int(time.time()) - 1000
    token = jwt.encode(claims(trader["user"]["id"], iat=past, exp=past + 900), jwt_secret, algorithm="HS256")
    # When / Then
    r = http.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "token_expired"


@pytest.mark.parametrize("missing", ["sub", "role", "iat", "exp", "iss", "aud", "jti"])
def test_token_missing_a_claim_is_refused(
    http: httpx.Client, trader: dict[str, Any], jwt_secret: str, missing: str
) -> None:
    # Given a correctly signed token without one required claim
    token = jwt.encode(claims(trader["user"]["id"], **{missing: None}), jwt_secret, algorithm="HS256")
    # When / Then
    r = http.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_forged_role_claim_does_not_escalate(http: httpx.Client, trader: dict[str, Any]) -> None:
    # Given a trader's real token with its payload rewritten to role=admin (signature kept)
    header, payload, signature = trader["access_token"].split(".")
    forged_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_claims["role"] = "admin"
    forged = f"{header}.{b64(forged_claims)}.{signature}"
    # When it is used on an admin endpoint
    r = http.post(
        f"/api/admin/users/{trader['user']['id']}/deposit", headers=bearer(forged), json={"amount": "1000.00"}
    )
    # Then it is not a valid token at all, and no cash moved
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"
    cash = http.get("/api/portfolio", headers=trader["headers"]).json()["cash"]
    assert cash["available"] == "100000.00"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer  x y", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt"],
)
def test_missing_or_malformed_authorization_is_401(http: httpx.Client, authorization: str | None) -> None:
    # Given a request without a usable bearer token
    headers = {} if authorization is None else {"Authorization": authorization}
    # When it asks for something that needs one
    r = http.get("/api/orders", headers=headers)
    # Then it is 401 (FastAPI's HTTPBearer would say 403), in the envelope
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_trader_on_admin_endpoints_is_403(http: httpx.Client, trader: dict[str, Any]) -> None:
    # Given a valid trader token
    uid = trader["user"]["id"]
    calls = [
        ("/api/admin/stocks", {"symbol": "HACKED", "name": "Hacked", "reference_price": "1.00"}),
        (f"/api/admin/users/{uid}/deposit", {"amount": "1000000.00"}),
        (f"/api/admin/users/{uid}/grant", {"symbol": "ACME", "quantity": 1000}),
    ]
    for path, body in calls:
        # When it calls an admin endpoint
        r = http.post(path, headers=trader["headers"], json=body)
        # Then it is forbidden
        assert r.status_code == 403, path
        assert error_code(r) == "forbidden"
    # and nothing happened
    assert http.get("/api/stocks/HACKED").status_code == 404
    portfolio = http.get("/api/portfolio", headers=trader["headers"]).json()
    assert portfolio["cash"]["available"] == "100000.00"
    assert portfolio["holdings"] == []


# ---------------------------------------------------------------- refresh tokens and CSRF
def test_session_cookies_have_the_contract_attributes(trader: dict[str, Any]) -> None:
    # Given / When a registration (login is the same code path, tested below)
    client: httpx.Client = trader["client"]
    r = client.post("/api/auth/login", json={"email": trader["email"], "password": PASSWORD})
    assert r.status_code == 200
    cookies = set_cookies(r)
    # Then the refresh token is HttpOnly, SameSite=Strict, scoped to /api/auth (no Secure over local http)
    refresh_cookie = cookies["refresh_token"].lower()
    assert "httponly" in refresh_cookie
    assert "samesite=strict" in refresh_cookie
    assert "path=/api/auth" in refresh_cookie
    assert "secure" not in refresh_cookie.replace("samesite", "")
    # and the CSRF cookie is readable by JS, SameSite=Strict, Path=/, equal to the body's csrf_token
    csrf_cookie = cookies["csrf_token"].lower()
    assert "httponly" not in csrf_cookie
    assert "samesite=strict" in csrf_cookie
    assert "path=/;" in csrf_cookie + ";"
    assert r.cookies["csrf_token"] == r.json()["csrf_token"]
    # and both values are URL-safe, never quoted
    for name in ("refresh_token", "csrf_token"):
        value = r.cookies[name]
        assert value and all(c.isalnum() or c in "-_" for c in value), value
    # and the refresh token is not in the body
    assert r.cookies["refresh_token"] not in r.text


def test_refresh_rotates_and_reuse_revokes_the_whole_family(trader: dict[str, Any]) -> None:
    # Given a session and its refresh token
    client: httpx.Client = trader["client"]
    first = client.cookies["refresh_token"]
    # When it is refreshed
    r = refresh(client)
    # Then a new session comes back with a new refresh token and a new CSRF token
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == trader["user"]["id"]
    assert client.get("/api/auth/me", headers=bearer(r.json()["access_token"])).status_code == 200
    second = client.cookies["refresh_token"]
    assert second != first
    # When the first (already rotated) token is presented again, as a thief would
    thief = httpx.Client(base_url=str(client.base_url), timeout=15)
    thief.cookies.set("refresh_token", first, path="/api/auth")
    thief.cookies.set("csrf_token", "thief-csrf", path="/")
    stolen = refresh(thief)
    thief.close()
    # Then it is refused as reused ...
    assert stolen.status_code == 401
    assert error_code(stolen) == "refresh_token_reused"
    # ... and the legitimate holder's newer token is dead too: the family is revoked
    r = refresh(client)
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_concurrent_refreshes_with_one_token_one_wins_the_other_is_reuse(
    trader: dict[str, Any], base_url: str
) -> None:
    # Given two clients holding the same refresh token and CSRF cookie
    source: httpx.Client = trader["client"]
    clients = []
    for _ in range(2):
        c = httpx.Client(base_url=base_url, timeout=15)
        c.cookies.set("refresh_token", source.cookies["refresh_token"], path="/api/auth")
        c.cookies.set("csrf_token", source.cookies["csrf_token"], path="/")
        clients.append(c)
    barrier = threading.Barrier(2)
    results: list[httpx.Response] = []

    csrf = source.cookies["csrf_token"]

    def go(c: httpx.Client) -> None:
        barrier.wait()
        results.append(refresh(c, csrf))

    # When both refresh at the same moment
    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one wins and the other is treated as reuse
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 401], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 401)
    assert error_code(loser) == "refresh_token_reused"
    # and the winner's token died with its family
    winner = next(r for r in results if r.status_code == 200)
    with httpx.Client(base_url=base_url, timeout=15) as c:
        c.cookies.set("refresh_token", winner.cookies["refresh_token"], path="/api/auth")
        c.cookies.set("csrf_token", winner.cookies["csrf_token"], path="/")
        assert refresh(c, winner.cookies["csrf_token"]).status_code == 401
    for c in clients:
        c.close()


def test_logins_start_separate_families(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given two logins of one user (two devices)
    laptop, phone = client_from(), client_from()
    for device in (laptop, phone):
        assert (
            device.post("/api/auth/login", json={"email": trader["email"], "password": PASSWORD}).status_code
            == 200
        )
    stolen = phone.cookies["refresh_token"]
    assert refresh(phone).status_code == 200
    # When the phone's rotated token is replayed (its family revoked)
    phone.cookies.set("refresh_token", stolen, path="/api/auth")
    assert error_code(refresh(phone)) == "refresh_token_reused"
    # Then the laptop's session, another family, still refreshes
    assert refresh(laptop).status_code == 200


@pytest.mark.parametrize("header", [None, "", "wrong-value"])
def test_refresh_without_matching_csrf_header_is_403_and_rotates_nothing(
    trader: dict[str, Any], header: str | None
) -> None:
    # Given a session with both cookies
    client: httpx.Client = trader["client"]
    token = client.cookies["refresh_token"]
    # When the refresh comes without the header, with an empty one or a mismatching one
    headers = {} if header is None else {"X-CSRF-Token": header}
    r = client.post("/api/auth/refresh", headers=headers)
    # Then it is refused before the refresh token is looked at
    assert r.status_code == 403
    assert error_code(r) == "csrf_failed"
    assert client.cookies["refresh_token"] == token
    # and the token was not rotated (no reuse detected on the next, proper refresh)
    assert refresh(client).status_code == 200


def test_csrf_is_checked_before_the_refresh_token(base_url: str) -> None:
    # Given a client with no refresh token and a CSRF header that matches no cookie
    with httpx.Client(base_url=base_url, timeout=15) as c:
        # When it refreshes / logs out
        for path in ("/api/auth/refresh", "/api/auth/logout"):
            r = c.post(path, headers={"X-CSRF-Token": "abc"})
            # Then the answer is about CSRF (403), not about the missing token (401)
            assert r.status_code == 403, path
            assert error_code(r) == "csrf_failed"


def test_logout_without_csrf_is_403_and_keeps_the_session(trader: dict[str, Any]) -> None:
    # Given a session
    client: httpx.Client = trader["client"]
    # When logout is attempted cross-site (the cookie rides along, the header cannot)
    r = client.post("/api/auth/logout")
    # Then it is refused and the session lives on
    assert r.status_code == 403
    assert error_code(r) == "csrf_failed"
    assert refresh(client).status_code == 200


def test_logout_clears_cookies_and_revokes_the_family(trader: dict[str, Any]) -> None:
    # Given a session
    client: httpx.Client = trader["client"]
    token, csrf = client.cookies["refresh_token"], client.cookies["csrf_token"]
    # When it logs out
    r = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    # Then 204, no body, and both cookies are cleared
    assert r.status_code == 204
    assert r.content == b""
    cookies = set_cookies(r)
    for name in ("refresh_token", "csrf_token"):
        assert "max-age=0" in cookies[name].lower() or "expires=thu, 01 jan 1970" in cookies[name].lower()
    assert "path=/api/auth" in cookies["refresh_token"].lower()
    # and the refresh token no longer works, even presented again with its CSRF cookie
    client.cookies.set("refresh_token", token, path="/api/auth")
    client.cookies.set("csrf_token", csrf, path="/")
    r = refresh(client)
    assert r.status_code == 401
    assert error_code(r) in ("unauthorized", "refresh_token_reused")


def test_refresh_with_an_unknown_token_is_401(base_url: str) -> None:
    # Given a made-up refresh token (right shape, never issued)
    with httpx.Client(base_url=base_url, timeout=15) as c:
        c.cookies.set("refresh_token", "A" * 43, path="/api/auth")
        c.cookies.set("csrf_token", "csrf", path="/")
        # When / Then
        r = refresh(c)
        assert r.status_code == 401
        assert error_code(r) == "unauthorized"


# ---------------------------------------------------------------- login throttling
def test_five_failures_for_one_email_throttle_it_even_with_the_right_password(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given five failed logins for one email (from one address)
    attacker = client_from()
    wrong_logins(attacker, trader["email"], 5)
    # When the right password is tried, even from another address
    r = client_from().post("/api/auth/login", json={"email": trader["email"].upper(), "password": PASSWORD})
    # Then it is throttled, with Retry-After up to the 15-minute window
    assert r.status_code == 429
    assert error_code(r) == "too_many_attempts"
    retry_after = int(r.headers["Retry-After"])
    assert 880 <= retry_after <= 900
    # and another user logging in from the attacker's address is not affected (5 < 20 for the IP)
    other = {"email": ADMIN["email"], "password": ADMIN["password"]}
    assert client_from().post("/api/auth/login", json=other).status_code == 200


def test_four_failures_do_not_throttle(trader: dict[str, Any], http: httpx.Client) -> None:
    # Given four failed logins
    wrong_logins(http, trader["email"], 4)
    # When / Then the fifth attempt, with the right password, succeeds
    r = http.post("/api/auth/login", json={"email": trader["email"], "password": PASSWORD})
    assert r.status_code == 200


def test_a_throttled_attempt_is_not_counted_as_a_failure(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given an email throttled by five failures
    client = client_from()
    wrong_logins(client, trader["email"], 5)
    first = client.post("/api/auth/login", json={"email": trader["email"], "password": "nope-nope"})
    assert first.status_code == 429
    # When more (wrong) attempts come in a bit later
    time.sleep(1.2)
    for _ in range(3):
        later = client.post("/api/auth/login", json={"email": trader["email"], "password": "nope-nope"})
        assert later.status_code == 429
    # Then the wait did not grow: Retry-After still counts down to the oldest counted failure
    assert int(later.headers["Retry-After"]) < int(first.headers["Retry-After"])


def test_twenty_failures_from_one_ip_throttle_that_ip_only(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given twenty failed logins from one address, each for a different (unknown) email
    address = fresh_loopback()
    attacker = client_from(address)
    for i in range(20):
        wrong_logins(attacker, f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com", 1)
    # When a real user logs in correctly from that address
    r = client_from(address).post("/api/auth/login", json={"email": trader["email"], "password": PASSWORD})
    # Then it is throttled, with Retry-After
    assert r.status_code == 429
    assert error_code(r) == "too_many_attempts"
    assert 880 <= int(r.headers["Retry-After"]) <= 900
    # while from another address the same login works
    r = client_from().post("/api/auth/login", json={"email": trader["email"], "password": PASSWORD})
    assert r.status_code == 200


def test_forwarded_for_header_does_not_escape_the_ip_throttle(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given an address throttled by twenty failures
    address = fresh_loopback()
    attacker = client_from(address)
    for i in range(20):
        r = attacker.post(
            "/api/auth/login",
            json={"email": f"x{i}-{uuid.uuid4().hex[:6]}@example.com", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"10.0.0.{i}"},
        )
        assert r.status_code == 401
    # When it claims to be someone else
    r = attacker.post(
        "/api/auth/login",
        json={"email": trader["email"], "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    # Then it is still throttled
    assert r.status_code == 429


def test_unknown_email_and_wrong_password_are_indistinguishable(
    trader: dict[str, Any], client_from: Callable[..., httpx.Client]
) -> None:
    # Given a client (4 attempts per email: below the email limit)
    client = client_from()
    unknown: list[float] = []
    wrong: list[float] = []
    bodies: set[str] = set()
    statuses: set[int] = set()
    for i in range(4):
        for email, times in (
            (f"ghost-{i}-{uuid.uuid4().hex[:6]}@example.com", unknown),
            (trader["email"], wrong),
        ):
            # When it logs in with an unknown email / a wrong password
            start = time.perf_counter()
            r = client.post("/api/auth/login", json={"email": email, "password": "wrong password!"})
            times.append(time.perf_counter() - start)
            statuses.add(r.status_code)
            bodies.add(r.text)
    # Then both get the same status and byte-identical body
    assert statuses == {401}
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["error"]["code"] == "invalid_credentials"
    # and take about the same time (argon2 runs either way)
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 < ratio < 2.0, (unknown, wrong)


# ---------------------------------------------------------------- registration
def test_register_normalises_email_and_refuses_duplicates(
    http: httpx.Client, client_from: Callable[..., httpx.Client]
) -> None:
    # Given an email with capitals and surrounding spaces
    local = f"MiXeD-{uuid.uuid4().hex[:8]}"
    r = http.post("/api/auth/register", json={"email": f"  {local}@Example.COM ", "password": PASSWORD})
    # Then it is stored normalised, and the trader starts with the configured cash
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == f"{local.lower()}@example.com"
    assert r.json()["user"]["role"] == "trader"
    portfolio = http.get("/api/portfolio", headers=bearer(r.json()["access_token"])).json()
    assert portfolio["cash"] == {"available": "100000.00", "reserved": "0.00", "total": "100000.00"}
    # and the same address in another case is taken
    r = client_from().post(
        "/api/auth/register", json={"email": f"{local.upper()}@example.com", "password": PASSWORD}
    )
    assert r.status_code == 409
    assert error_code(r) == "email_taken"
    # and login is case-insensitive
    r = client_from().post(
        "/api/auth/login", json={"email": f"{local.upper()}@EXAMPLE.com", "password": PASSWORD}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(("length", "status"), [(7, 422), (8, 201), (128, 201), (129, 422)])
def test_password_length_is_8_to_128(http: httpx.Client, length: int, status: int) -> None:
    # Given / When a registration with a password of the given length
    email = f"len-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/auth/register", json={"email": email, "password": "p" * length})
    # Then
    assert r.status_code == status, r.text
    if status == 422:
        assert error_code(r) == "validation_error"
        assert ["body", "password"] in [d["loc"] for d in r.json()["error"]["details"]]


# ---------------------------------------------------------------- malformed input, the envelope
def test_unknown_route_and_wrong_method_are_enveloped(http: httpx.Client) -> None:
    # When / Then
    r = http.get("/api/nowhere")
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    r = http.put("/api/auth/login", json={})
    assert r.status_code == 405
    assert error_code(r) == "method_not_allowed"


def test_oversized_body_is_413(http: httpx.Client) -> None:
    # Given a body over the 16 KiB limit, declared and streamed (chunked, no Content-Length)
    big = json.dumps({"email": "a@example.com", "password": "x" * 20_000}).encode()
    # When / Then
    r = http.post("/api/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert error_code(r) == "payload_too_large"
    r = http.post(
        "/api/auth/login",
        content=iter([big[:10_000], big[10_000:]]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert error_code(r) == "payload_too_large"


@pytest.mark.parametrize(
    "body", [b"{", b'{"email": "a@example.com",}', b"not json", b"\xff\xfe{}", b'{"a": NaN}']
)
def test_malformed_json_is_400(http: httpx.Client, body: bytes) -> None:
    # When a body that is not JSON arrives
    r = http.post("/api/auth/register", content=body, headers={"Content-Type": "application/json"})
    # Then 400 malformed_request, not 422 or 500
    assert r.status_code == 400
    assert error_code(r) == "malformed_request"


def test_non_json_content_type_is_415(http: httpx.Client) -> None:
    # When a form is posted where JSON is expected
    r = http.post("/api/auth/login", data={"email": "a@example.com", "password": "whatever1"})
    # Then
    assert r.status_code == 415
    assert error_code(r) == "unsupported_media_type"


def test_validation_errors_carry_field_paths(http: httpx.Client, trader: dict[str, Any]) -> None:
    # When an order has several bad fields
    r = http.post(
        "/api/orders",
        headers=trader["headers"],
        json={"symbol": "acme", "side": "hold", "type": "limit", "quantity": 0, "limit_price": "1.00"},
    )
    # Then 422 validation_error, each failing field named by its path
    assert r.status_code == 422
    assert error_code(r) == "validation_error"
    locs = [d["loc"] for d in r.json()["error"]["details"]]
    assert ["body", "symbol"] in locs
    assert ["body", "side"] in locs
    assert ["body", "quantity"] in locs
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nul\u0000@example.com", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "display_name": "nul\u0000name"}, "display_name"),
        ({"email": "a@example.com", "password": PASSWORD, "display_name": "bell\u0007"}, "display_name"),
    ],
)
def test_control_characters_in_strings_are_422(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    # When / Then
    r = http.post("/api/auth/register", json=body)
    assert r.status_code == 422, r.text
    assert error_code(r) == "validation_error"
    assert ["body", field] in [d["loc"][:2] for d in r.json()["error"]["details"]]


@pytest.mark.parametrize("field", ["email", "password"])
def test_lone_surrogate_in_a_string_is_422_not_500(http: httpx.Client, field: str) -> None:
    # Given a JSON string escape that is no Unicode character (cannot be hashed or stored)
    values = {"email": f'"s-{uuid.uuid4().hex[:6]}@example.com"', "password": '"correct horse"'}
    values[field] = '"ab\\ud800cdefghij"'
    body = f'{{"email": {values["email"]}, "password": {values["password"]}}}'
    # When it is sent to register and to login
    for path in ("/api/auth/register", "/api/auth/login"):
        r = http.post(path, content=body, headers={"Content-Type": "application/json"})
        # Then 422 naming the field, never a 500
        assert r.status_code == 422, r.text
        assert error_code(r) == "validation_error"
        assert r.json()["error"]["details"][0]["loc"] == ["body", field]


def test_unicode_text_is_accepted_where_it_is_text(http: httpx.Client) -> None:
    # Given a display name and password in other scripts
    email = f"uni-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "пароль-密码-🔑🔑", "display_name": "Zoë 株式 🚀"}
    # When / Then registration and login work and the name comes back unchanged
    r = http.post("/api/auth/register", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "Zoë 株式 🚀"
    assert (
        http.post("/api/auth/login", json={"email": email, "password": body["password"]}).status_code == 200
    )


@pytest.mark.parametrize(
    "order",
    [
        {"quantity": -1},
        {"quantity": 0},
        {"quantity": 10**30},
        {"quantity": 1.5},
        {"quantity": "10"},
        {"limit_price": "-1.00"},
        {"limit_price": "0"},
        {"limit_price": 1e308},
        {"limit_price": "1" * 400},
        {"limit_price": "1e999999999"},
        {"limit_price": "100.001"},
        {"limit_price": "Infinity"},
    ],
)
def test_negative_and_huge_numbers_are_422(
    http: httpx.Client, trader: dict[str, Any], order: dict[str, Any]
) -> None:
    # Given an otherwise valid order with one bad number
    body = {"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 1, "limit_price": "1.00", **order}
    # When / Then
    r = http.post("/api/orders", headers=trader["headers"], json=body)
    assert r.status_code == 422, r.text
    assert error_code(r) == "validation_error"
    # and no order was created
    assert http.get("/api/orders", headers=trader["headers"]).json()["orders"] == []


@pytest.mark.parametrize(
    "query", ["limit=-1", "limit=0", "limit=501", f"limit={10**40}", "status=evil", "symbol=%00"]
)
def test_bad_query_parameters_are_422(http: httpx.Client, trader: dict[str, Any], query: str) -> None:
    r = http.get(f"/api/orders?{query}", headers=trader["headers"])
    assert r.status_code == 422, r.text
    assert error_code(r) == "validation_error"


# ---------------------------------------------------------------- IDOR
def test_another_users_order_is_404_for_get_and_delete(
    http: httpx.Client, register: Callable[..., dict[str, Any]]
) -> None:
    # Given Alice's resting order
    alice, mallory = register("alice"), register("mallory")
    r = http.post(
        "/api/orders",
        headers=alice["headers"],
        json={"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 1, "limit_price": "1.00"},
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    # When Mallory reads it or cancels it
    read = http.get(f"/api/orders/{order_id}", headers=mallory["headers"])
    cancel = http.delete(f"/api/orders/{order_id}", headers=mallory["headers"])
    # Then both are 404, exactly as for an order that does not exist
    missing = http.get("/api/orders/01JZZZZZZZZZZZZZZZZZZZZZZZ", headers=mallory["headers"])
    for r in (read, cancel):
        assert r.status_code == 404
        assert error_code(r) == "not_found"
        assert r.json() == missing.json()
    # and Alice's order is untouched
    mine = http.get(f"/api/orders/{order_id}", headers=alice["headers"]).json()
    assert mine["cancel_requested"] is False
    assert order_id not in http.get("/api/orders", headers=mallory["headers"]).text


# ---------------------------------------------------------------- WebSocket
def _handshake_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=10)
    return int(info.value.response.status_code)


def test_websocket_handshake_with_a_bad_token_is_401(stack: Any, jwt_secret: str) -> None:
    # Given a garbage token, a token signed with another key
    forged = jwt.encode(claims("someone"), "k" * 48, algorithm="HS256")
    # When / Then the handshake is refused with HTTP 401
    assert _handshake_status(f"{stack.ws_url}?token=not-a-token") == 401
    assert _handshake_status(f"{stack.ws_url}?token={forged}") == 401


def test_websocket_handshake_with_an_expired_token_is_401(
    stack: Any, trader: dict[str, Any], jwt_secret: str
) -> None:
    # Given an expired, correctly signed token
    past = int(time.time()) - 2000
    token = jwt.encode(claims(trader["user"]["id"], iat=past, exp=past + 900), jwt_secret, algorithm="HS256")
    # When / Then
    assert _handshake_status(f"{stack.ws_url}?token={token}") == 401


def _next_ack(ws: Any) -> dict[str, Any]:
    """The next reply to an action, skipping pushed events (a new user's PORTFOLIO_UPDATED may come first)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if "channel" not in message:
            return message


def test_websocket_subscribe_to_another_users_channel_is_forbidden(
    stack: Any, register: Callable[..., dict[str, Any]]
) -> None:
    # Given Mallory connected with her own token, and Alice's id
    alice, mallory = register("alice"), register("mallory")
    with connect(f"{stack.ws_url}?token={mallory['access_token']}", open_timeout=10) as ws:
        # When she subscribes to Alice's channel (alongside a public one)
        ws.send(
            json.dumps({"action": "subscribe", "channels": ["stock:ACME", f"user:{alice['user']['id']}"]})
        )
        reply = _next_ack(ws)
        # Then the whole subscribe is refused as forbidden
        assert reply["type"] == "error"
        assert reply["error"]["code"] == "forbidden"
        # while her own channel is fine
        ws.send(json.dumps({"action": "subscribe", "channels": [f"user:{mallory['user']['id']}"]}))
        assert _next_ack(ws)["type"] == "subscribed"


def test_websocket_without_token_may_not_subscribe_to_a_user_channel(
    stack: Any, register: Callable[..., dict[str, Any]]
) -> None:
    # Given an anonymous connection
    alice = register("alice")
    with connect(stack.ws_url, open_timeout=10) as ws:
        # When it subscribes to a user channel
        ws.send(json.dumps({"action": "subscribe", "channels": [f"user:{alice['user']['id']}"]}))
        # Then forbidden
        reply = _next_ack(ws)
        assert reply["type"] == "error"
        assert reply["error"]["code"] == "forbidden"
