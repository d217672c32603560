"""One contract, two stores: the DynamoDB adapter (the stack's moto table) and the in-memory fake
the unit tests use, so the fake cannot drift from the real thing."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest

from exchange import keys
from exchange.adapters.auth_store import AuthStore, MemoryAuthStore, Rotation

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


def test_login_failures_newest_first_within_the_window(store: Any) -> None:
    subject = keys.login_failures("email", f"{uuid.uuid4().hex}@example.com")
    other = keys.login_failures("ip", uuid.uuid4().hex)
    for ts in (1000, 2000, 3000, 4000):
        store.record_login_failure([subject, other], keys.login_failure_sk(ts, uuid.uuid4().hex[:8]), 99)
    assert store.recent_login_failures(subject, 2000, 10) == [4000, 3000, 2000]
    assert store.recent_login_failures(subject, 0, 2) == [4000, 3000]
    assert store.recent_login_failures(other, 4001, 10) == []
