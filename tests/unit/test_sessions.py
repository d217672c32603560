"""Refresh-token families and login throttling: the rules, on the in-memory store with a fake clock."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from exchange import keys
from exchange.adapters.auth_store import MemoryAuthStore, Rotation
from exchange.domain.errors import TooManyAttempts, Unauthorized
from exchange.usecases.login_throttle import LoginThrottle, ip_subject
from exchange.usecases.sessions import Sessions, hash_token

T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryAuthStore:
    return MemoryAuthStore()


@pytest.fixture
def sessions(store: MemoryAuthStore, clock: Clock) -> Sessions:
    return Sessions(store, ttl_seconds=3600, clock=clock)


def family_of(store: MemoryAuthStore, token: str) -> dict[str, Any]:
    item = store.token(hash_token(token))
    assert item is not None
    fam = store.family(item["family_id"])
    assert fam is not None
    return fam


# ---------------------------------------------------------------- sessions
def test_start_stores_only_the_hash(sessions: Sessions, store: MemoryAuthStore) -> None:
    # When a session starts
    issued = sessions.start("u1")
    # Then the raw token appears nowhere in the store, its hash does
    assert all(issued.token not in repr(item) for item in store.items.values())
    assert store.token(hash_token(issued.token))["status"] == "active"  # type: ignore[index]
    assert family_of(store, issued.token)["revoked"] is False


def test_rotate_issues_a_new_token_of_the_same_family(sessions: Sessions, store: MemoryAuthStore) -> None:
    # Given a session
    first = sessions.start("u1")
    # When it is rotated
    second = sessions.rotate(first.token)
    # Then the new token belongs to the same user and family, and the old one is marked rotated
    assert (second.user_id, second.family_id) == ("u1", first.family_id)
    assert second.token != first.token
    assert store.token(hash_token(first.token))["status"] == "rotated"  # type: ignore[index]
    # and the new one rotates in turn
    assert sessions.rotate(second.token).family_id == first.family_id


def test_reuse_of_a_rotated_token_revokes_the_family(sessions: Sessions, store: MemoryAuthStore) -> None:
    # Given a rotated token
    first = sessions.start("u1")
    second = sessions.rotate(first.token)
    # When the old one comes back
    with pytest.raises(Unauthorized) as reused:
        sessions.rotate(first.token)
    # Then it is reuse, and the family (so the newer token too) is revoked
    assert reused.value.code == "refresh_token_reused"
    assert family_of(store, second.token)["revoked"] is True
    assert family_of(store, second.token)["revoked_reason"] == "reuse"
    with pytest.raises(Unauthorized) as after:
        sessions.rotate(second.token)
    assert after.value.code == "unauthorized"


def test_families_are_independent(sessions: Sessions) -> None:
    # Given two logins of one user
    a, b = sessions.start("u1"), sessions.start("u1")
    sessions.rotate(a.token)
    # When family a detects reuse
    with pytest.raises(Unauthorized):
        sessions.rotate(a.token)
    # Then family b is unaffected
    assert sessions.rotate(b.token).family_id == b.family_id


def test_expired_token_is_refused_without_revoking(
    sessions: Sessions, store: MemoryAuthStore, clock: Clock
) -> None:
    # Given a token past its validity (the TTL attribute has not removed it: moto never does)
    issued = sessions.start("u1")
    clock.advance(3600)
    # When / Then
    with pytest.raises(Unauthorized) as err:
        sessions.rotate(issued.token)
    assert err.value.code == "unauthorized"
    assert family_of(store, issued.token)["revoked"] is False


def test_ttl_attribute_outlives_validity(sessions: Sessions, store: MemoryAuthStore) -> None:
    issued = sessions.start("u1")
    item = store.token(hash_token(issued.token))
    assert item is not None
    assert item["expires_at"] * 1000 > item["valid_until"]
    assert family_of(store, issued.token)["expires_at"] >= item["expires_at"]


@pytest.mark.parametrize(
    "presented", [None, "", "short", "x" * 500, "bad chars !!!!!!!!!!!!!!!!!!!!", "A" * 43]
)
def test_missing_malformed_or_unknown_tokens_are_unauthorized(
    sessions: Sessions, presented: str | None
) -> None:
    with pytest.raises(Unauthorized) as err:
        sessions.rotate(presented)
    assert err.value.code == "unauthorized"


def test_end_revokes_the_family_and_is_idempotent(sessions: Sessions, store: MemoryAuthStore) -> None:
    # Given a session
    issued = sessions.start("u1")
    # When it ends (twice, and once with nothing)
    sessions.end(issued.token)
    sessions.end(issued.token)
    sessions.end(None)
    # Then its family is revoked and its token no longer rotates
    assert family_of(store, issued.token)["revoked_reason"] == "logout"
    with pytest.raises(Unauthorized) as err:
        sessions.rotate(issued.token)
    assert err.value.code == "unauthorized"


def test_concurrent_rotations_one_wins_the_other_is_reuse(sessions: Sessions, store: MemoryAuthStore) -> None:
    # Given one token and eight threads presenting it at once
    issued = sessions.start("u1")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def go() -> None:
        barrier.wait()
        try:
            sessions.rotate(issued.token)
            outcomes.append("ok")
        except Unauthorized as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one rotation succeeded, the rest were reuse, and the family is revoked
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"refresh_token_reused"}
    assert family_of(store, issued.token)["revoked"] is True


def test_store_rotation_outcomes(store: MemoryAuthStore) -> None:
    # The contract the use case relies on (also run against DynamoDB in tests/security)
    store.create_family({"family_id": "f", "user_id": "u", "created_at": 1, "expires_at": 9}, _tok("h1", "f"))
    assert store.rotate("h1", _tok("h2", "f"), 10, 2) is Rotation.ROTATED
    assert store.rotate("h1", _tok("h3", "f"), 10, 3) is Rotation.TOKEN_NOT_ACTIVE
    store.revoke_family("f", "logout", 4)
    assert store.rotate("h2", _tok("h4", "f"), 10, 5) is Rotation.FAMILY_REVOKED


def _tok(h: str, family: str) -> dict[str, Any]:
    return {
        "token_hash": h,
        "family_id": family,
        "user_id": "u",
        "status": "active",
        "created_at": 1,
        "valid_until": 10**13,
        "expires_at": 10**10,
    }


# ---------------------------------------------------------------- login throttle
@pytest.fixture
def throttle(store: MemoryAuthStore, clock: Clock) -> LoginThrottle:
    return LoginThrottle(store, max_per_email=5, max_per_ip=20, window_seconds=900, clock=clock)


def fail(throttle: LoginThrottle, email: str, ip: str) -> None:
    """One failed attempt: claimed and never released (what login() does on bad credentials)."""
    throttle.begin(email, ip)


def test_five_failures_per_email_throttle_with_retry_after_from_the_oldest(
    throttle: LoginThrottle, clock: Clock
) -> None:
    # Given five failures a minute apart
    for _ in range(5):
        fail(throttle, "A@Example.com", "10.0.0.1")
        clock.advance(60)
    # When the next attempt begins (any case, any address)
    with pytest.raises(TooManyAttempts) as err:
        throttle.begin(" a@example.COM", "10.9.9.9")
    # Then Retry-After is the time until the oldest failure leaves the 15-minute window
    assert err.value.retry_after == 900 - 5 * 60
    # and once it has left, attempts are allowed again
    clock.advance(900 - 5 * 60)
    throttle.begin("a@example.com", "10.9.9.9")


def test_four_failures_do_not_throttle(throttle: LoginThrottle) -> None:
    for _ in range(4):
        fail(throttle, "a@example.com", "10.0.0.1")
    throttle.begin("a@example.com", "10.0.0.1")


def test_a_success_releases_its_claim_only_failures_count(
    throttle: LoginThrottle, store: MemoryAuthStore
) -> None:
    # Given four failures, then any number of successful attempts
    for _ in range(4):
        fail(throttle, "a@example.com", "10.0.0.1")
    for _ in range(10):
        store.release_login_attempt(throttle.begin("a@example.com", "10.0.0.1"))
    # Then one more failure is allowed, and only then the email is throttled
    fail(throttle, "a@example.com", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        throttle.begin("a@example.com", "10.0.0.1")


def test_a_refused_attempt_is_not_a_failure(throttle: LoginThrottle, clock: Clock) -> None:
    # Given five failures at T0, and refused attempts later on
    for _ in range(5):
        fail(throttle, "a@example.com", "10.0.0.1")
    for _ in range(30):
        clock.advance(10)
        with pytest.raises(TooManyAttempts):
            throttle.begin("a@example.com", "10.0.0.1")
    # Then the door reopens when the five failures leave the window (the refusals did not count)
    clock.advance(900 - 300)
    throttle.begin("a@example.com", "10.0.0.1")


def test_twenty_failures_per_ip_throttle_that_ip(throttle: LoginThrottle, clock: Clock) -> None:
    # Given twenty failures from one address for twenty emails
    for i in range(20):
        fail(throttle, f"user{i}@example.com", "192.0.2.7")
    clock.advance(10)
    # When / Then a new email from that address is throttled, from another it is not
    with pytest.raises(TooManyAttempts) as err:
        throttle.begin("fresh@example.com", "192.0.2.7")
    assert err.value.retry_after == 890
    throttle.begin("fresh@example.com", "192.0.2.8")


def test_window_boundary_is_exclusive(throttle: LoginThrottle, clock: Clock) -> None:
    for _ in range(5):
        fail(throttle, "a@example.com", "10.0.0.1")
    clock.advance(899.999)
    with pytest.raises(TooManyAttempts) as err:
        throttle.begin("a@example.com", "10.0.0.1")
    assert err.value.retry_after == 1
    clock.advance(0.001)
    throttle.begin("a@example.com", "10.0.0.1")


def test_attempt_keys_and_tidy_up_ttl(throttle: LoginThrottle, store: MemoryAuthStore) -> None:
    fail(throttle, "A@example.com", "2001:db8::1")
    pks = {pk for pk, _ in store.items}
    assert pks == {keys.login_failures("email", "a@example.com"), keys.login_failures("ip", "2001:db8::/64")}
    assert all(i["expires_at"] * 1000 > T0 + 900_000 for i in store.items.values())


class SlowAccounts:
    """Checks a password slowly (as a real hash does) and never accepts it."""

    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        time.sleep(0.05)
        raise Unauthorized("invalid email or password", code="invalid_credentials")


def _burst(throttle: LoginThrottle, logins: list[tuple[str, str]]) -> list[str]:
    barrier = threading.Barrier(len(logins))
    outcomes: list[str] = []

    def go(email: str, ip: str) -> None:
        barrier.wait()
        try:
            throttle.login(SlowAccounts(), email, "guess", ip)  # type: ignore[arg-type]
        except Unauthorized:
            outcomes.append("401")
        except TooManyAttempts:
            outcomes.append("429")

    threads = [threading.Thread(target=go, args=login) for login in logins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_a_parallel_burst_of_guesses_gets_no_more_than_the_limit(throttle: LoginThrottle) -> None:
    # When twelve wrong-password logins for one email arrive at once (limit 5)
    outcomes = _burst(throttle, [("victim@example.com", f"10.0.0.{i}") for i in range(12)])
    # Then exactly five are checked (401), the other seven refused (429)
    assert outcomes == ["401"] * 5 + ["429"] * 7


def test_a_parallel_burst_from_one_ip_near_its_limit_gets_only_what_is_left(throttle: LoginThrottle) -> None:
    # Given 17 failures counted for one address (limit 20)
    for i in range(17):
        fail(throttle, f"old{i}@example.com", "192.0.2.9")
    # When twenty guesses for twenty fresh emails arrive from it at once
    outcomes = _burst(throttle, [(f"new{i}@example.com", "192.0.2.9") for i in range(20)])
    # Then three are checked, seventeen refused
    assert outcomes == ["401"] * 3 + ["429"] * 17


@pytest.mark.parametrize(
    ("ip", "subject"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_ip_subject(ip: str | None, subject: str) -> None:
    assert ip_subject(ip) == subject
