"""Injected failures for the local stack (``LOCAL_FAULTS``), the ones SQS, Lambda and DynamoDB promise.

``LOCAL_FAULTS=name=p,...`` gives each fault a probability per opportunity, ``LOCAL_FAULTS_SEED``
makes the draws repeatable (each fault has its own seeded generator, so one fault's draws do not
shift another's), ``LOCAL_FAULTS_LIMIT`` (a local extension) caps the injections per fault.

The faults live here and in the local stack's pollers and Lambda shim, never in the application:
client calls are intercepted through botocore's event system on boto3's default session
(``install``), and the function making a call is known from a context variable that the Lambda shim
(and the api's ASGI wrapper) sets around each invocation (``running``). Calls made by the local stack
itself (pollers, seeding) run under no function and are never touched.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

MATCHER_CRASH_BEFORE_COMMIT = "matcher_crash_before_commit"
MATCHER_CRASH_AFTER_COMMIT = "matcher_crash_after_commit"
SQS_DUPLICATE = "sqs_duplicate"
SQS_SEND_LOST = "sqs_send_lost"
NOTIFIER_CRASH_AFTER_SEND = "notifier_crash_after_send"
WS_POST_FAIL = "ws_post_fail"
DDB_TRANSACTION_CONFLICT = "ddb_transaction_conflict"
FAULT_NAMES = (
    MATCHER_CRASH_BEFORE_COMMIT,
    MATCHER_CRASH_AFTER_COMMIT,
    SQS_DUPLICATE,
    SQS_SEND_LOST,
    NOTIFIER_CRASH_AFTER_SEND,
    WS_POST_FAIL,
    DDB_TRANSACTION_CONFLICT,
)

# the template's logical ids of the functions the faults aim at
API = "ApiFunction"
MATCHER = "MatcherFunction"
NOTIFIER = "NotifierFunction"

# items the matcher and the api both write: a conflict is possible only on those
_SHARED_SK_PREFIXES = ("CASH", "HOLDING#", "ORDER#", "BOOK")


class FaultConfigError(ValueError):
    """LOCAL_FAULTS (or its companions) cannot be understood: the stack does not start."""


class LambdaCrash(BaseException):
    """The process died (injected): a BaseException, which the app's ``except Exception`` lets pass."""


@dataclass
class Invocation:
    """One invocation (or api request) of a function: what per-invocation faults need to know."""

    function: str
    posts: int = 0  # successful post_to_connection calls so far
    crash_at: int | None = None  # notifier_crash_after_send: die after this post (0: not this time)
    on_crash: Callable[[], None] | None = None  # counts the planned crash when it happens

    def crash(self) -> None:
        """The planned crash happens now (once)."""
        record, self.on_crash, self.crash_at = self.on_crash, None, 0
        if record is not None:
            record()
            raise LambdaCrash("injected: notifier_crash_after_send")

    def finish(self) -> None:
        """At the handler's return: a crash planned but not reached (fewer posts) happens now, after
        everything was posted and before the function could report success."""
        if self.crash_at:
            self.crash()


_invocation: ContextVar[Invocation | None] = ContextVar("local_invocation", default=None)


@contextmanager
def running(function: str) -> Iterator[Invocation]:
    """Calls made inside belong to one invocation of ``function`` (a template logical id)."""
    invocation = Invocation(function)
    token = _invocation.set(invocation)
    try:
        yield invocation
    finally:
        _invocation.reset(token)


def current_function() -> str | None:
    invocation = _invocation.get()
    return invocation.function if invocation else None


def parse(spec: str) -> dict[str, float]:
    """``name=p,name=p`` -> {name: p}; unknown names and probabilities outside [0, 1] are refused."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise FaultConfigError(f"LOCAL_FAULTS: {part!r} is not name=probability")
        if name not in FAULT_NAMES:
            raise FaultConfigError(f"LOCAL_FAULTS: unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
        try:
            p = float(value)
        except ValueError:
            raise FaultConfigError(f"LOCAL_FAULTS: {name}={value!r} is not a number") from None
        if not 0.0 <= p <= 1.0:  # NaN fails this too
            raise FaultConfigError(f"LOCAL_FAULTS: {name}={value} is outside [0, 1]")
        out[name] = p
    return out


@dataclass
class _Armed:
    remaining: int
    functions: frozenset[str] | None


class FaultRegistry:
    """Which fault fires when; thread-safe; counts what it injected."""

    def __init__(
        self, probabilities: Mapping[str, float] | None = None, *, seed: int = 0, limit: int | None = None
    ) -> None:
        self.probabilities = dict(probabilities or {})
        unknown = set(self.probabilities) - set(FAULT_NAMES)
        if unknown:
            raise FaultConfigError(f"unknown faults {sorted(unknown)}")
        self.seed, self.limit = seed, limit
        self._lock = threading.Lock()
        self._rng = {name: random.Random(f"{seed}:{name}") for name in FAULT_NAMES}
        self._counts = dict.fromkeys(self.probabilities, 0)
        self._armed: dict[str, _Armed] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FaultRegistry:
        env = os.environ if env is None else env
        probabilities = parse(env.get("LOCAL_FAULTS", ""))
        seed_text = env.get("LOCAL_FAULTS_SEED", "").strip()
        limit_text = env.get("LOCAL_FAULTS_LIMIT", "").strip()
        try:
            seed = int(seed_text) if seed_text else random.SystemRandom().randrange(2**31)
            limit = int(limit_text) if limit_text else None
        except ValueError:
            raise FaultConfigError("LOCAL_FAULTS_SEED and LOCAL_FAULTS_LIMIT are integers") from None
        if limit is not None and limit < 0:
            raise FaultConfigError("LOCAL_FAULTS_LIMIT is >= 0")
        return cls(probabilities, seed=seed, limit=limit)

    @property
    def enabled(self) -> bool:
        return any(p > 0 for p in self.probabilities.values())

    def should(self, name: str, function: str | None = None) -> bool:
        """One opportunity for ``name``: True (and counted) when the fault is to be injected now."""
        return self.decide(name, function) > 0

    def decide(self, name: str, function: str | None = None, *, count: bool = True, spread: int = 1) -> int:
        """0: not this time; else a point in 1..spread at which to inject (1 when armed).

        ``count=False``: the caller injects later, maybe not at all, and calls ``record`` if it does.
        """
        with self._lock:
            armed = self._armed.get(name)
            if armed and armed.remaining > 0 and (armed.functions is None or function in armed.functions):
                armed.remaining -= 1
                point = 1
            else:
                p = self.probabilities.get(name, 0.0)
                if p <= 0.0 or (self.limit is not None and self._counts.get(name, 0) >= self.limit):
                    return 0
                rng = self._rng[name]
                if rng.random() >= p:
                    return 0
                point = rng.randint(1, spread)
            if count:
                self._counts[name] = self._counts.get(name, 0) + 1
            return point

    def record(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def counts(self) -> dict[str, int]:
        """{name: injections} for every configured (or armed) fault, 0 included."""
        with self._lock:
            return dict(self._counts)

    @contextmanager
    def armed(self, name: str, times: int = 1, functions: set[str] | None = None) -> Iterator[None]:
        """Tests: inject ``name`` at its next ``times`` opportunities (of ``functions`` only, if given)."""
        if name not in FAULT_NAMES:
            raise FaultConfigError(f"unknown fault {name!r}")
        with self._lock:
            self._armed[name] = _Armed(times, frozenset(functions) if functions else None)
            self._counts.setdefault(name, 0)
        try:
            yield
        finally:
            with self._lock:
                self._armed.pop(name, None)

    def describe(self) -> str:
        if not self.probabilities:
            return "none"
        faults = ", ".join(f"{n}={p:g}" for n, p in self.probabilities.items())
        return f"{faults} (LOCAL_FAULTS_SEED={self.seed})"


# ---------------------------------------------------------------------- botocore wiring
class _Response:
    """Just what botocore reads of the HTTP response of a short-circuited call."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
        self.text = ""
        self.raw = None


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[_Response, dict[str, Any]]:
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        **extra,
    }
    return _Response(status), parsed


def _sk(key: Mapping[str, Any] | None) -> str:
    return str(((key or {}).get("sk") or {}).get("S", ""))


def _shared_item_at(operation: str, params: Mapping[str, Any]) -> int | None:
    """Where a call updates an item the matcher and the api both write (a new item cannot conflict)."""
    if operation == "TransactWriteItems":
        ops = params.get("TransactItems", [])
        keys = [(op.get("Update") or op.get("ConditionCheck") or {}).get("Key") for op in ops]
    elif operation == "UpdateItem":
        keys = [params.get("Key")]
    else:
        return None
    return next((i for i, k in enumerate(keys) if k and _sk(k).startswith(_SHARED_SK_PREFIXES)), None)


def _conflict(operation: str, at: int, items: int) -> tuple[_Response, dict[str, Any]]:
    """What DynamoDB answers when another writer holds the item: the transaction is cancelled with a
    TransactionConflict at that item; a single write fails with TransactionConflictException."""
    if operation != "TransactWriteItems":
        return _error(400, "TransactionConflictException", "Transaction is ongoing for the item")
    reasons: list[dict[str, str]] = [{"Code": "None"}] * items
    reasons[at] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    codes = ", ".join(r["Code"] for r in reasons)
    message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    return _error(400, "TransactionCanceledException", message, CancellationReasons=reasons)


class _Hooks:
    def __init__(self, registry: FaultRegistry, tables: set[str]) -> None:
        self.registry, self.tables = registry, tables
        self._posts_lock = threading.Lock()

    # before-parameter-build sees the API parameters; before-call only the serialised request
    def note_ddb(self, params: Mapping[str, Any], context: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        items = params.get("TransactItems", [])
        tables = {next(iter(i.values())).get("TableName") for i in items} or {params.get("TableName")}
        context["local_faults"] = {
            "conflict_at": _shared_item_at(op, params) if tables & self.tables else None,
            "items": len(items),
        }

    def note_sqs(self, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["local_faults"] = {"body": params.get("MessageBody", "")}

    def ddb_before(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        function = current_function()
        at = (context.get("local_faults") or {}).get("conflict_at")
        if (
            function in (API, MATCHER)
            and at is not None
            and self.registry.should(DDB_TRANSACTION_CONFLICT, function)
        ):
            return _conflict(model.name, at, int(context["local_faults"]["items"]))
        if (
            function == MATCHER
            and model.name == "TransactWriteItems"
            and self.registry.should(MATCHER_CRASH_BEFORE_COMMIT, function)
        ):
            raise LambdaCrash("injected: matcher_crash_before_commit")
        return None

    def ddb_after(self, http_response: Any, model: Any, **_: Any) -> None:
        function = current_function()
        if (
            function == MATCHER
            and model.name == "TransactWriteItems"
            and http_response.status_code < 300
            and self.registry.should(MATCHER_CRASH_AFTER_COMMIT, function)
        ):
            raise LambdaCrash("injected: matcher_crash_after_commit")

    def sqs_send(self, context: dict[str, Any], **_: Any) -> Any:
        if current_function() != API or not self.registry.should(SQS_SEND_LOST, API):
            return None
        body = str((context.get("local_faults") or {}).get("body", ""))
        parsed = {
            "MessageId": str(uuid.uuid4()),
            "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
            "SequenceNumber": "0",
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return _Response(200), parsed

    def post_before(self, **_: Any) -> Any:
        function = current_function()
        if function == NOTIFIER and self.registry.should(WS_POST_FAIL, function):
            return _error(429, "LimitExceededException", "injected: ws_post_fail")
        return None

    def post_after(self, http_response: Any, **_: Any) -> None:
        # one opportunity per invocation, drawn at its first successful post: die after a random
        # 1st..8th post (the batch partly posted), or at the return if it posts fewer (Invocation.finish)
        invocation = _invocation.get()
        if invocation is None or invocation.function != NOTIFIER or http_response.status_code >= 300:
            return
        with self._posts_lock:  # the notifier posts from several threads at once
            invocation.posts += 1
            if invocation.crash_at is None:
                invocation.crash_at = self.registry.decide(
                    NOTIFIER_CRASH_AFTER_SEND, NOTIFIER, count=False, spread=8
                )
                if invocation.crash_at:
                    invocation.on_crash = lambda: self.registry.record(NOTIFIER_CRASH_AFTER_SEND)
            if invocation.crash_at and invocation.posts >= invocation.crash_at:
                invocation.crash()


def install(registry: FaultRegistry, *, tables: set[str]) -> None:
    """Hook the faults into boto3's default session: every client created afterwards carries them.

    ``tables``: the tables whose shared items can be in a transaction conflict (the exchange table).
    Call it before the functions are imported (their clients are created lazily, from this session).
    """
    import boto3

    boto3.setup_default_session()  # a fresh default session: no client made before can escape the hooks
    events = boto3.DEFAULT_SESSION.events
    hooks = _Hooks(registry, tables)
    for op in ("TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"):
        events.register(f"before-parameter-build.dynamodb.{op}", hooks.note_ddb)
        events.register(f"before-call.dynamodb.{op}", hooks.ddb_before)
    events.register("after-call.dynamodb.TransactWriteItems", hooks.ddb_after)
    events.register("before-parameter-build.sqs.SendMessage", hooks.note_sqs)
    events.register("before-call.sqs.SendMessage", hooks.sqs_send)
    events.register("before-call.apigatewaymanagementapi.PostToConnection", hooks.post_before)
    events.register("after-call.apigatewaymanagementapi.PostToConnection", hooks.post_after)
