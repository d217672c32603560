"""Refresh-token families and login failures in the exchange table (the only boto3 code for auth).

Items (see keys.py):
- ``REFRESHFAM#<family_id> / FAMILY``: one per login; ``revoked`` ends every token of the family.
- ``REFRESH#<sha256 of the token> / TOKEN``: ``status`` "active" until rotated, then "rotated"; the
  raw token is never stored.
- ``LOGINFAIL#email:<email>`` / ``LOGINFAIL#ip:<ip>``, sort key = failure time (ms) + nonce.
``expires_at`` (epoch seconds) is the table's TTL attribute: it only tidies up; every decision is
made from the stored millisecond timestamps (``valid_until``, the failure sort keys).

``MemoryAuthStore`` is the same contract in memory, for unit tests; one contract test suite runs
against both (tests/security/test_auth_store_contract.py).
"""

from __future__ import annotations

import contextlib
import threading
from enum import Enum
from typing import Any, Protocol

from exchange import keys
from exchange.adapters.dynamo import ConditionFailed, Item, Op, Table, TransactionFailed


class Rotation(Enum):
    ROTATED = "rotated"
    TOKEN_NOT_ACTIVE = "token_not_active"  # someone rotated (or is rotating) this token already
    FAMILY_REVOKED = "family_revoked"


class AuthStorePort(Protocol):
    def create_family(self, family: Item, token: Item) -> None: ...
    def token(self, token_hash: str) -> Item | None: ...
    def family(self, family_id: str) -> Item | None: ...
    def rotate(self, old_hash: str, new_token: Item, family_expires_at: int, now_ms: int) -> Rotation: ...
    def revoke_family(self, family_id: str, reason: str, now_ms: int) -> None: ...
    def record_login_failure(self, subjects: list[str], sort_key: str, expires_at: int) -> None: ...
    def recent_login_failures(self, subject: str, since_ms: int, limit: int) -> list[int]: ...


def _token_item(token: Item) -> Item:
    return {"pk": keys.refresh_token(token["token_hash"]), "sk": keys.REFRESH_TOKEN, **token}


def _family_item(family: Item) -> Item:
    return {"pk": keys.refresh_family(family["family_id"]), "sk": keys.REFRESH_FAMILY, **family}


def _failure_ts(sort_key: str) -> int:
    return int(sort_key.split("#", 1)[0])


class AuthStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    # ------------------------------------------------------------------ refresh families
    def create_family(self, family: Item, token: Item) -> None:
        t = self.table.name
        self.table.transact(
            [
                Op(
                    "Put",
                    t,
                    item={**_family_item(family), "revoked": False},
                    condition="attribute_not_exists(pk)",
                ),
                Op("Put", t, item=_token_item(token), condition="attribute_not_exists(pk)"),
            ]
        )

    def token(self, token_hash: str) -> Item | None:
        return self.table.get(keys.refresh_token(token_hash), keys.REFRESH_TOKEN)

    def family(self, family_id: str) -> Item | None:
        return self.table.get(keys.refresh_family(family_id), keys.REFRESH_FAMILY)

    def rotate(self, old_hash: str, new_token: Item, family_expires_at: int, now_ms: int) -> Rotation:
        """One transaction: old token active -> rotated, family not revoked (its TTL pushed out), new
        token in. Two concurrent rotations of one token: exactly one passes the condition."""
        t = self.table.name
        ops = [
            Op(
                "Update",
                t,
                key={"pk": keys.refresh_token(old_hash), "sk": keys.REFRESH_TOKEN},
                update="SET #s = :rotated, rotated_at = :now",
                condition="attribute_exists(pk) AND #s = :active",
                names={"#s": "status"},
                values={":rotated": "rotated", ":active": "active", ":now": now_ms},
            ),
            Op(
                "Update",
                t,
                key={"pk": keys.refresh_family(new_token["family_id"]), "sk": keys.REFRESH_FAMILY},
                update="SET expires_at = :e",
                condition="attribute_exists(pk) AND revoked = :no",
                values={":e": family_expires_at, ":no": False},
            ),
            Op("Put", t, item=_token_item(new_token), condition="attribute_not_exists(pk)"),
        ]
        try:
            self.table.transact(ops)
        except TransactionFailed as exc:
            failed = exc.failed_condition_at()
            if 0 in failed:
                return Rotation.TOKEN_NOT_ACTIVE
            if 1 in failed:
                return Rotation.FAMILY_REVOKED
            if "TransactionConflict" in exc.reasons:
                return Rotation.TOKEN_NOT_ACTIVE  # a concurrent transaction on the same token
            raise
        return Rotation.ROTATED

    def revoke_family(self, family_id: str, reason: str, now_ms: int) -> None:
        with contextlib.suppress(ConditionFailed):  # already gone (TTL): nothing left to revoke
            self.table.update(
                keys.refresh_family(family_id),
                keys.REFRESH_FAMILY,
                "SET revoked = :yes, revoked_reason = if_not_exists(revoked_reason, :r), "
                "revoked_at = if_not_exists(revoked_at, :now)",
                condition="attribute_exists(pk)",
                values={":yes": True, ":r": reason, ":now": now_ms},
            )

    # ------------------------------------------------------------------ login failures
    def record_login_failure(self, subjects: list[str], sort_key: str, expires_at: int) -> None:
        t = self.table.name
        self.table.transact(
            [Op("Put", t, item={"pk": s, "sk": sort_key, "expires_at": expires_at}) for s in subjects]
        )

    def recent_login_failures(self, subject: str, since_ms: int, limit: int) -> list[int]:
        """Timestamps (ms) of the newest ``limit`` failures at or after ``since_ms``, newest first."""
        page = self.table.query(
            "pk = :pk AND sk >= :lo",
            {":pk": subject, ":lo": keys.login_failure_from(since_ms)},
            forward=False,
            limit=limit,
            consistent=True,
        )
        return [_failure_ts(i["sk"]) for i in page.items]


class MemoryAuthStore:
    """The same contract as ``AuthStore``, in memory (unit tests)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self._lock = threading.Lock()

    def create_family(self, family: Item, token: Item) -> None:
        with self._lock:
            f, tk = {**_family_item(family), "revoked": False}, _token_item(token)
            if (f["pk"], f["sk"]) in self.items or (tk["pk"], tk["sk"]) in self.items:
                raise TransactionFailed(["ConditionalCheckFailed"], [None])
            self.items[(f["pk"], f["sk"])] = f
            self.items[(tk["pk"], tk["sk"])] = tk

    def token(self, token_hash: str) -> Item | None:
        item = self.items.get((keys.refresh_token(token_hash), keys.REFRESH_TOKEN))
        return dict(item) if item else None

    def family(self, family_id: str) -> Item | None:
        item = self.items.get((keys.refresh_family(family_id), keys.REFRESH_FAMILY))
        return dict(item) if item else None

    def rotate(self, old_hash: str, new_token: Item, family_expires_at: int, now_ms: int) -> Rotation:
        with self._lock:
            old = self.items.get((keys.refresh_token(old_hash), keys.REFRESH_TOKEN))
            if old is None or old.get("status") != "active":
                return Rotation.TOKEN_NOT_ACTIVE
            fam = self.items.get((keys.refresh_family(new_token["family_id"]), keys.REFRESH_FAMILY))
            if fam is None or fam.get("revoked") is not False:
                return Rotation.FAMILY_REVOKED
            new = _token_item(new_token)
            if (new["pk"], new["sk"]) in self.items:
                raise TransactionFailed([None, None, "ConditionalCheckFailed"], [None, None, None])
            old.update(status="rotated", rotated_at=now_ms)
            fam["expires_at"] = family_expires_at
            self.items[(new["pk"], new["sk"])] = new
            return Rotation.ROTATED

    def revoke_family(self, family_id: str, reason: str, now_ms: int) -> None:
        with self._lock:
            fam = self.items.get((keys.refresh_family(family_id), keys.REFRESH_FAMILY))
            if fam is not None:
                fam["revoked"] = True
                fam.setdefault("revoked_reason", reason)
                fam.setdefault("revoked_at", now_ms)

    def record_login_failure(self, subjects: list[str], sort_key: str, expires_at: int) -> None:
        with self._lock:
            for s in subjects:
                self.items[(s, sort_key)] = {"pk": s, "sk": sort_key, "expires_at": expires_at}

    def recent_login_failures(self, subject: str, since_ms: int, limit: int) -> list[int]:
        lo = keys.login_failure_from(since_ms)
        sks = sorted((sk for pk, sk in self.items if pk == subject and sk >= lo), reverse=True)
        return [_failure_ts(sk) for sk in sks[:limit]]
