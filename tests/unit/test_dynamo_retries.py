"""The DynamoDB adapter's retries: UnprocessedKeys of a BatchGetItem and transaction conflicts are
retried with bounded, jittered, growing waits (never a tight loop, never forever)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from exchange.adapters import dynamo
from exchange.adapters.dynamo import RetriesExhausted, Table, TransactionConflict, TransactionFailed, to_item


class BatchGetClient:
    """Hands back every key as unprocessed ``stalls`` times, then answers."""

    def __init__(self, stalls: int) -> None:
        self.stalls = stalls
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        keys = RequestItems["T"]["Keys"]
        if self.calls <= self.stalls:
            return {"Responses": {"T": []}, "UnprocessedKeys": RequestItems}
        return {"Responses": {"T": [{**k, "v": {"N": "1"}} for k in keys]}, "UnprocessedKeys": {}}


def _table(client: Any) -> tuple[Table, list[float]]:
    waits: list[float] = []
    table = Table("T", client)
    table.sleep = waits.append  # type: ignore[assignment]
    return table, waits


def test_unprocessed_keys_are_fetched_again_after_growing_jittered_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given DynamoDB hands the keys back three times (throttled), and jitter pinned to its maximum
    monkeypatch.setattr(dynamo.random, "random", lambda: 1.0)
    table, waits = _table(BatchGetClient(stalls=3))
    # When the keys are read
    found = table.get_many([("a", "1"), ("b", "2")])
    # Then every item arrives, after three waits that double (exponential backoff)
    assert found == {("a", "1"): {"pk": "a", "sk": "1", "v": 1}, ("b", "2"): {"pk": "b", "sk": "2", "v": 1}}
    assert waits == [dynamo.BACKOFF_BASE_S, 2 * dynamo.BACKOFF_BASE_S, 4 * dynamo.BACKOFF_BASE_S]


def test_backoff_is_jittered_and_capped() -> None:
    assert dynamo.backoff_delay(50, rng=lambda: 1.0) == dynamo.BACKOFF_CAP_S
    assert dynamo.backoff_delay(3, rng=lambda: 0.5) == 0.5 * 8 * dynamo.BACKOFF_BASE_S


def test_keys_left_unprocessed_for_ever_end_in_an_error_not_a_spin() -> None:
    client = BatchGetClient(stalls=10**9)
    table, waits = _table(client)
    with pytest.raises(RetriesExhausted):
        table.get_many([("a", "1")])
    assert len(waits) == dynamo.BATCH_GET_ATTEMPTS
    assert client.calls == dynamo.BATCH_GET_ATTEMPTS + 1


class TransactClient:
    def __init__(self, codes: list[list[str]]) -> None:
        self.codes = codes
        self.calls = 0

    def transact_write_items(self, TransactItems: list[Any]) -> dict[str, Any]:
        self.calls += 1
        if self.codes:
            reasons = [{"Code": c} for c in self.codes.pop(0)]
            error = {"Code": "TransactionCanceledException", "Message": "cancelled"}
            raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")
        return {}


OPS = [dynamo.Op("Put", "T", item={"pk": "a", "sk": "1"}), dynamo.Op("Put", "T", item={"pk": "b", "sk": "1"})]


def test_a_conflicted_transaction_is_sent_again() -> None:
    client = TransactClient([["None", "TransactionConflict"]])
    table, waits = _table(client)
    table.transact(OPS)
    assert (client.calls, len(waits)) == (2, 1)


def test_a_failed_condition_is_an_answer_not_a_conflict_to_retry() -> None:
    client = TransactClient([["ConditionalCheckFailed", "TransactionConflict"]])
    table, waits = _table(client)
    with pytest.raises(TransactionFailed) as err:
        table.transact(OPS)
    assert not isinstance(err.value, TransactionConflict)
    assert (client.calls, waits) == (1, [])
    assert err.value.reasons == ["ConditionalCheckFailed", "TransactionConflict"]


def test_lasting_conflict_is_a_transaction_conflict_with_its_reasons() -> None:
    client = TransactClient([["None", "TransactionConflict"]] * 10)
    table, waits = _table(client)
    with pytest.raises(TransactionConflict) as err:
        table.transact(OPS)
    assert client.calls == dynamo.CONFLICT_ATTEMPTS and len(waits) == dynamo.CONFLICT_ATTEMPTS - 1
    assert err.value.reasons == [None, "TransactionConflict"]
    assert to_item({"x": 1}) == {"x": {"N": "1"}}
