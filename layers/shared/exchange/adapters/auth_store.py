"""Refresh-token families and login failures in the exchange table (the only boto3 code for auth).

Items (see keys.py):
- ``REFRESHFAM#<family_id> / FAMILY``: one per login; ``revoked`` ends every token of the family.
- ``REFRESH#<sha256 of the token> / TOKEN``: ``status`` "active" until rotated, then "rotated"; the
  raw token is never stored.
- ``LOGINFAIL#email:<email>`` / ``LOGINFAIL#ip:<ip>`` / ``SLOT#<i>`` for i < the subject's limit:
  attempt slots. A login attempt first CLAIMS a free slot of each of its subjects in one
  conditional transaction (free = no ``ts``, or ``ts`` out of the window), before the password is
  checked; a failed attempt keeps its claim (it is the counted failure, ``ts`` its time), a
  successful one releases it. With every slot of a subject taken, attempts are refused — so no
  burst, however parallel, gets more than ``limit`` attempts through per window.
``expires_at`` (epoch seconds) is the table's TTL attribute: it only tidies up; every decision is
made from the stored millisecond timestamps (``valid_until``, the slots' ``ts``).

``MemoryAuthStore`` is the same contract in memory, for unit tests; one contract test suite runs
against both (tests/security/test_auth_store_contract.py).
"""

from __future__ import annotations

import contextlib
import random
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from exchange import keys
from exchange.adapters.contention import unavailable_when_busy
from exchange.adapters.dynamo import (
    ConditionFailed,
    Item,
    Op,
    Table,
    TransactionFailed,
    backoff_delay,
)

CLAIM_ATTEMPTS = 6  # rounds of read-slots-then-claim before contention itself refuses the attempt


class Rotation(Enum):
    ROTATED = "rotated"
    TOKEN_NOT_ACTIVE = "token_not_active"  # someone rotated (or is rotating) this token already
    FAMILY_REVOKED = "family_revoked"


@dataclass(frozen=True)
class LoginClaim:
    """The attempt slots one login attempt holds: (subject, slot sort key) per subject."""

    claim_id: str
    slots: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LoginRefused:
    """No free slot for some subject: ``wait_ms`` until its oldest counted attempt leaves the window."""

    wait_ms: int


def _pick_slots(
    taken: dict[str, dict[str, int]], subjects: list[tuple[str, int]], now_ms: int, window_ms: int
) -> list[tuple[str, str]] | LoginRefused:
    """One free slot per subject (random among the free, so parallel attempts rarely collide), or
    the wait: a slot counts while ``now - window < ts``."""
    picks, wait = [], 0
    for subject, limit in subjects:
        live = {sk: ts for sk, ts in taken.get(subject, {}).items() if ts > now_ms - window_ms}
        free = [keys.login_slot_sk(i) for i in range(limit) if keys.login_slot_sk(i) not in live]
        if free:
            picks.append((subject, random.choice(free)))
        else:
            wait = max(wait, min(live.values()) + window_ms - now_ms)
    return LoginRefused(wait) if wait else picks


class AuthStorePort(Protocol):
    def create_family(self, family: Item, token: Item) -> None: ...
    def token(self, token_hash: str) -> Item | None: ...
    def family(self, family_id: str) -> Item | None: ...
    def rotate(self, old_hash: str, new_token: Item, family_expires_at: int, now_ms: int) -> Rotation: ...
    def revoke_family(self, family_id: str, reason: str, now_ms: int) -> None: ...
    def claim_login_attempt(
        self, subjects: list[tuple[str, int]], claim_id: str, now_ms: int, window_ms: int, expires_at: int
    ) -> LoginClaim | LoginRefused: ...
    def release_login_attempt(self, claim: LoginClaim) -> None: ...


def _token_item(token: Item) -> Item:
    return {"pk": keys.refresh_token(token["token_hash"]), "sk": keys.REFRESH_TOKEN, **token}


def _family_item(family: Item) -> Item:
    return {"pk": keys.refresh_family(family["family_id"]), "sk": keys.REFRESH_FAMILY, **family}


_busy = unavailable_when_busy("the session store is busy; try again")


class AuthStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    # ------------------------------------------------------------------ refresh families
    @_busy
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

    @_busy
    def revoke_family(self, family_id: str, reason: str, now_ms: int) -> None:
        self._revoke(family_id, reason, now_ms)

    def _revoke(self, family_id: str, reason: str, now_ms: int) -> None:
        with contextlib.suppress(ConditionFailed):  # already gone (TTL): nothing left to revoke
            self.table.update(
                keys.refresh_family(family_id),
                keys.REFRESH_FAMILY,
                "SET revoked = :yes, revoked_reason = if_not_exists(revoked_reason, :r), "
                "revoked_at = if_not_exists(revoked_at, :now)",
                condition="attribute_exists(pk)",
                values={":yes": True, ":r": reason, ":now": now_ms},
            )

    # ------------------------------------------------------------------ login attempt slots
    def _slots(self, subject: str) -> dict[str, int]:
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :p)",
            {":pk": subject, ":p": keys.LOGIN_SLOT_PREFIX},
            consistent=True,
        ).items
        return {i["sk"]: int(i["ts"]) for i in items if "ts" in i}

    def claim_login_attempt(
        self, subjects: list[tuple[str, int]], claim_id: str, now_ms: int, window_ms: int, expires_at: int
    ) -> LoginClaim | LoginRefused:
        """Claim a free slot of every subject at once (a transaction conditional on each slot being
        free); a slot taken meanwhile by a parallel attempt refuses the transaction, and the
        attempt reads the slots again and picks anew, a bounded number of rounds."""
        t = self.table.name
        for attempt in range(CLAIM_ATTEMPTS):
            picked = _pick_slots({s: self._slots(s) for s, _ in subjects}, subjects, now_ms, window_ms)
            if isinstance(picked, LoginRefused):
                return picked
            ops = [
                Op(
                    "Update",
                    t,
                    key={"pk": subject, "sk": sk},
                    update="SET ts = :now, claim = :c, expires_at = :e",
                    condition="attribute_not_exists(ts) OR ts <= :cutoff",
                    values={":now": now_ms, ":c": claim_id, ":e": expires_at, ":cutoff": now_ms - window_ms},
                )
                for subject, sk in picked
            ]
            try:
                self.table.transact(ops)
            except TransactionFailed:
                self.table.sleep(backoff_delay(attempt))
                continue
            return LoginClaim(claim_id, tuple(picked))
        return LoginRefused(1000)  # still contended: refuse rather than let the attempt through

    def release_login_attempt(self, claim: LoginClaim) -> None:
        for subject, sk in claim.slots:
            with contextlib.suppress(ConditionFailed):  # no longer ours (expired and re-claimed)
                self.table.update(
                    subject,
                    sk,
                    "REMOVE ts, claim",
                    condition="claim = :c",
                    values={":c": claim.claim_id},
                )


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

    def claim_login_attempt(
        self, subjects: list[tuple[str, int]], claim_id: str, now_ms: int, window_ms: int, expires_at: int
    ) -> LoginClaim | LoginRefused:
        with self._lock:
            taken: dict[str, dict[str, int]] = {}
            for (pk, sk), item in self.items.items():
                if sk.startswith(keys.LOGIN_SLOT_PREFIX) and "ts" in item:
                    taken.setdefault(pk, {})[sk] = int(item["ts"])
            picked = _pick_slots(taken, subjects, now_ms, window_ms)
            if isinstance(picked, LoginRefused):
                return picked
            for subject, sk in picked:
                self.items[(subject, sk)] = {
                    "pk": subject,
                    "sk": sk,
                    "ts": now_ms,
                    "claim": claim_id,
                    "expires_at": expires_at,
                }
            return LoginClaim(claim_id, tuple(picked))

    def release_login_attempt(self, claim: LoginClaim) -> None:
        with self._lock:
            for subject, sk in claim.slots:
                item = self.items.get((subject, sk))
                if item is not None and item.get("claim") == claim.claim_id:
                    item.pop("ts", None)
                    item.pop("claim", None)
