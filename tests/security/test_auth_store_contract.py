"""One contract, two stores: the DynamoDB adapter (the stack's moto table) and the in-memory fake
the unit tests use, so the fake cannot drift from the real thing."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest

from exchange import keys
from exchange.adapters.auth_store import AuthStore, LoginClaim, LoginRefused, MemoryAuthStore, Rotation

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemoryAuthStore()
    request.getfixturevalue("stack")
    return AuthStore(os.environ["TABLE_NAME"])


def tok(h: str, family: str) -> dict[str, Any]:
    return {
        "token_hash": h,
        "family_id": family,
        "user_id": "u",
        "status": "active",
        "created_at": 1,
        "valid_until": 10**13,
        "expires_at": 10**10,
    }


def test_rotation_outcomes(store: Any) -> None:
    # Given a family with one token
    f, h = uuid.uuid4().hex, uuid.uuid4().hex
    store.create_family({"family_id": f, "user_id": "u", "created_at": 1, "expires_at": 9}, tok(h, f))
    # When / Then: rotate once, the same token again, then after revocation
    assert store.rotate(h, tok(h + "2", f), 10, 2) is Rotation.ROTATED
    assert store.token(h)["status"] == "rotated"
    assert store.family(f)["expires_at"] == 10
    assert store.rotate(h, tok(h + "3", f), 11, 3) is Rotation.TOKEN_NOT_ACTIVE
    assert store.token(h + "3") is None
    store.revoke_family(f, "logout", 4)
    store.revoke_family(f, "reuse", 5)
    assert store.family(f)["revoked"] is True
    assert store.family(f)["revoked_reason"] == "logout"
    assert store.rotate(h + "2", tok(h + "4", f), 12, 6) is Rotation.FAMILY_REVOKED
    store.revoke_family("no-such-family", "logout", 7)


def test_concurrent_rotations_one_wins(store: Any) -> None:
    f, h = uuid.uuid4().hex, uuid.uuid4().hex
    store.create_family({"family_id": f, "user_id": "u", "created_at": 1, "expires_at": 9}, tok(h, f))
    barrier = threading.Barrier(6)
    outcomes: list[Rotation] = []

    def go(i: int) -> None:
        barrier.wait()
        outcomes.append(store.rotate(h, tok(f"{h}-{i}", f), 10, 2))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(Rotation.ROTATED) == 1
    assert set(outcomes) == {Rotation.ROTATED, Rotation.TOKEN_NOT_ACTIVE}


def _claim(store: Any, subjects: list[tuple[str, int]], now: int, window: int = 1000) -> Any:
    return store.claim_login_attempt(subjects, uuid.uuid4().hex, now, window, 99)


def test_login_slots_count_claims_within_the_window(store: Any) -> None:
    # Given an email subject with limit 3 and an ip subject with limit 10
    email = keys.login_failures("email", f"{uuid.uuid4().hex}@example.com")
    ip = keys.login_failures("ip", uuid.uuid4().hex)
    subjects = [(email, 3), (ip, 10)]
    claims = [_claim(store, subjects, ts) for ts in (1000, 1100, 1200)]
    assert all(isinstance(c, LoginClaim) and len(c.slots) == 2 for c in claims)
    # When / Then the fourth within the window is refused until the oldest claim leaves it
    assert _claim(store, subjects, 1500) == LoginRefused(wait_ms=1000 + 1000 - 1500)
    assert _claim(store, [(ip, 10)], 1500).__class__ is LoginClaim  # the ip still has room
    # a released claim frees its slot at once; a claim left in place counts until ts + window
    store.release_login_attempt(claims[1])
    assert isinstance(_claim(store, subjects, 1600), LoginClaim)
    assert _claim(store, subjects, 1999) == LoginRefused(wait_ms=1)
    assert isinstance(_claim(store, subjects, 2000), LoginClaim)
    # releasing twice, or a slot since re-claimed by another attempt, changes nothing
    store.release_login_attempt(claims[0])
    assert _claim(store, subjects, 2001) == LoginRefused(wait_ms=1200 + 1000 - 2001)


def test_parallel_claims_never_pass_the_limit(store: Any) -> None:
    email = keys.login_failures("email", f"{uuid.uuid4().hex}@example.com")
    barrier = threading.Barrier(12)
    outcomes: list[Any] = []

    def go(i: int) -> None:
        subjects = [(email, 5), (keys.login_failures("ip", f"{uuid.uuid4().hex}"), 20)]
        barrier.wait()
        outcomes.append(_claim(store, subjects, 10_000, 900_000))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [o for o in outcomes if isinstance(o, LoginClaim)]
    assert len(claimed) == 5
    assert len({slot for c in claimed for slot in c.slots if slot[0] == email}) == 5
    assert all(isinstance(o, LoginRefused) and o.wait_ms > 0 for o in outcomes if o not in claimed)
