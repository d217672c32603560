"""DynamoDB Query in O(items returned + page) in moto, with moto's answers unchanged.

moto 5.2.5's ``Table.query`` sorts every item of the table (``all_items``), keeps those of the
queried partition, sorts them again, and pages by walking from the first one: a Query of 10 items
costs O(table), and page k of a paged read re-walks pages 1..k-1. Here every table keeps, per
partition of the base table and of each secondary index, the items' sort keys in a sorted list
(the values moto sorts by, in the order it sorts them). A Query finds its start (ExclusiveStartKey)
and its key range (=, <, <=, >, >=, BETWEEN, begins_with) by bisection, takes the page (Limit
matching items, one more to decide LastEvaluatedKey as moto does), and hands moto's own ``query``
that window instead of the whole table: ordering, ScanIndexForward, Limit counted before the
FilterExpression, the projections, Select=COUNT and the LastEvaluatedKey's shape stay moto's code.

Staying right, which matters more than speed:
* every write path maintains the lists: Table.put_item / delete_item (PutItem, BatchWriteItem,
  the bare key UpdateItem creates), UpdateItem (which changes an item in place), and
  TransactWriteItems, whose keys are re-read after it ends, committed or rolled back (the rollback
  of moto_fidelity's `_touched_item_snapshots` writes items back directly);
* any other DynamoDB action that could change items (PartiQL, UpdateTable, restores, imports, ...)
  drops every list; they are rebuilt from the items at the next Query;
* the lists live beside moto's objects (keyed weakly by table), never in a pickled snapshot: a
  durable-state restore (local_stack/persistence.py) brings new tables, indexed afresh;
* a Query checks every item of its window against its current attributes; a mismatch rebuilds
  that index (counted in COUNTS);
* anything unusual (multi-attribute GSI keys, legacy QueryFilter, mixed key types, a start key
  that is not a full key, an operator outside the list, a page near the 1 MB limit) runs moto's
  own full walk.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from decimal import Decimal
from typing import Any

from local_stack.moto_key_ranges import key_range

RESULT_SIZE_SAFE = 1_000_000 - 410_000  # moto pages at 1 MB; an item is at most ~405 KB
_KEY_TYPES = ("S", "N", "B")
_OPS = ("=", "<", "<=", ">", ">=", "BETWEEN", "BEGINS_WITH")
# actions that change items only through the hooked paths, or not at all
KNOWN_ACTIONS = frozenset(
    {
        "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable",
        "ListTables", "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups",
        "DescribeEndpoints", "DescribeLimits", "PutItem", "UpdateItem", "DeleteItem",
        "BatchWriteItem", "TransactWriteItems", "CreateTable",
    }
)  # fmt: skip

# Queries answered over a window / by moto's full walk; rebuilds after a Query found an index out
# of step (a bug if ever non-zero): tests/integration/test_moto_differential.py reads them
COUNTS = {"windowed": 0, "walked": 0, "stale": 0}
INDEXES: weakref.WeakKeyDictionary[Any, dict[str | None, _Index | None]] = weakref.WeakKeyDictionary()
CURRENT = threading.local()  # the window of the Query running on this thread

Key = tuple[Any, Any]  # (hash DynamoType, range DynamoType or None): an item's primary key


class _Broken(Exception):
    """The index cannot answer like moto (mixed key types): moto's own walk answers."""


class _Index:
    """One sorted list per partition of the base table or of one secondary index."""

    def __init__(self, table: Any, partition_attr: str, sort_attrs: list[str], member_attrs: list[str]):
        self.partition_attr = partition_attr
        self.sort_attrs = sort_attrs  # moto's sort order after the partition attribute
        self.member_attrs = member_attrs  # an item is in the index when it has all of them
        self.partitions: dict[Any, list[tuple[Any, ...]]] = {}
        self.types: dict[Any, tuple[tuple[str, type], ...]] = {}
        self.keys: dict[tuple[Any, tuple[Any, ...]], Key] = {}  # (partition, sort tuple) -> key
        self.entries: dict[Any, tuple[Any, tuple[Any, ...]]] = {}  # key_id -> (partition, sort tuple)
        self.broken = False
        for key, item in _all(table):
            self._add(key, item, sort=False)
        for entries in self.partitions.values():
            entries.sort()

    def entry(self, item: Any) -> tuple[Any, tuple[Any, ...], tuple[tuple[str, type], ...]] | None:
        """(partition id, sort values, their types), or None when the item is not in the index."""
        attrs = item.attrs
        if any(name not in attrs for name in self.member_attrs):
            return None
        partition = attrs[self.partition_attr]
        if partition.type not in _KEY_TYPES:  # equal to no Query's partition value (S, N or B)
            return None
        values = [attrs[name] for name in self.sort_attrs]
        casts = tuple(_cast(v) for v in values)
        types = tuple((v.type, type(c)) for v, c in zip(values, casts, strict=True))
        if any(t not in _KEY_TYPES for t, _ in types):
            raise _Broken
        return partition_id(partition), casts, types

    def _add(self, key: Key, item: Any, *, sort: bool = True) -> None:
        try:
            found = self.entry(item)
        except _Broken:
            self.broken = True
            return
        if found is None:
            return
        partition, casts, types = found
        if self.types.setdefault(partition, types) != types:
            self.broken = True
            return
        entries = self.partitions.setdefault(partition, [])
        if sort:
            bisect.insort(entries, casts)
        else:
            entries.append(casts)
        self.keys[(partition, casts)] = key
        self.entries[key_id(key)] = (partition, casts)

    def sync(self, table: Any, key: Key) -> None:
        """Re-read one item (written, changed, deleted or restored) into the index."""
        old = self.entries.pop(key_id(key), None)
        if old is not None:
            partition, casts = old
            entries = self.partitions[partition]
            i = bisect.bisect_left(entries, casts)
            if i < len(entries) and entries[i] == casts:
                del entries[i]
            del self.keys[old]
            if not entries:
                del self.partitions[partition]
                del self.types[partition]
        item = _lookup(table, key)
        if item is not None:
            self._add(key, item)


def partition_id(value: Any) -> tuple[str, Any]:
    """A partition's dict key: equal exactly when moto finds the DynamoTypes equal, cheaper to hash."""
    return value.type, _cast(value)


def key_id(key: Key) -> tuple[Any, Any]:
    return partition_id(key[0]), None if key[1] is None else partition_id(key[1])


def _cast(value: Any) -> Any:
    """DynamoType.cast_value, quicker for the key types (an index build calls it for every item)."""
    kind = value.type
    if kind == "S" or kind == "B":
        return value.value
    if kind == "N":
        return Decimal(value.value)
    return value.cast_value


def _all(table: Any) -> list[tuple[Key, Any]]:
    found = []
    for hash_value, bucket in table.items.items():
        if table.range_key_attr is None:
            found.append(((hash_value, None), bucket))
        else:
            found.extend(((hash_value, r), item) for r, item in bucket.items())
    return found


def _lookup(table: Any, key: Key) -> Any:
    hash_value, range_value = key
    bucket = table.items.get(hash_value)  # .get: table.items is a defaultdict
    if bucket is None:
        return None
    if range_value is None:
        return bucket if table.range_key_attr is None else None
    return bucket.get(range_value) if isinstance(bucket, dict) else None


def _definition(table: Any, index_name: str | None) -> tuple[str, list[str], list[str], bool] | None:
    """(partition attribute, sort attributes after it, membership attributes, has a range key),
    exactly as moto's query derives its sort order; None when moto's walk must answer."""
    from moto.dynamodb.models.table import GlobalSecondaryIndex

    if index_name is None:
        if table.range_key_attr is None:
            return None
        hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
        member, has_range = [table.hash_key_attr, table.range_key_attr], True
    else:
        index = {i.name: i for i in table.all_indexes()}.get(index_name)
        if index is None:
            return None
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
        if len(hashes) != 1 or len(ranges) > 1:
            return None
        if ranges:
            own_range = ranges[0]
        elif isinstance(index, GlobalSecondaryIndex) and table.range_key_attr:
            own_range = table.range_key_attr
        else:
            own_range = table.hash_key_attr
        hash_attrs = [hashes[0], table.hash_key_attr]
        range_attrs = [own_range, table.range_key_attr]
        member, has_range = hashes + ranges, bool(ranges)
    order = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
    if order[0] != hash_attrs[0] or "None" in (hash_attrs + range_attrs) or len(order) < 2:
        return None
    return order[0], order[1:], member, has_range


def _index(table: Any, index_name: str | None, *, rebuild: bool = False) -> _Index | None:
    indexes = INDEXES.setdefault(table, {})
    if rebuild or index_name not in indexes:
        definition = _definition(table, index_name)
        indexes[index_name] = None if definition is None else _Index(table, *definition[:3])
    return indexes[index_name]


def touch(table: Any, key: Key) -> None:
    """An item of `table` may have changed: bring every built index of the table up to date.
    Never raises (the write succeeded): an index it cannot update is dropped, rebuilt when used."""
    try:
        for index in (INDEXES.get(table) or {}).values():
            if index is not None and not index.broken:
                index.sync(table, key)
    except Exception:
        INDEXES.pop(table, None)


def drop_all() -> None:
    INDEXES.clear()


# ------------------------------------------------------------------------------------ the window
def _typed(value: Any, types: tuple[str, type]) -> Any:
    """The cast value of a request's key value, or _Broken when moto would compare other types."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not isinstance(value, DynamoType):
        if not isinstance(value, dict) or len(value) != 1:
            raise _Broken
        value = DynamoType(value)
    cast = value.cast_value
    if (value.type, type(cast)) != types:
        raise _Broken
    return cast


def _window(table: Any, index: _Index, request: dict[str, Any]) -> list[Any]:
    """The items moto's query must see to answer exactly as over the whole table."""
    partition = request["partition"]
    pid = partition_id(partition)
    entries = index.partitions.get(pid, [])
    if not entries:
        return []
    types = index.types[pid]
    op = request["op"]
    values = [_typed(v, types[0]) for v in request["values"]]
    if op == "BEGINS_WITH" and types[0][0] != "S":
        raise _Broken
    lo, hi = key_range(entries, op, values)
    n, forward, limit = len(entries), request["forward"], request["limit"]
    start_key = request["start"]
    after: int | None = None  # forward: first position after the start key; backward: last before
    if start_key is not None:
        if any(a not in start_key for a in (index.partition_attr, *index.sort_attrs)):
            raise _Broken
        own = partition.cast_value
        theirs = _typed(start_key[index.partition_attr], (partition.type, type(own)))
        if theirs != own:  # every item of the partition is on the same side of the start key
            if (own < theirs) == forward:
                return []  # all of them come before it
        else:
            start = tuple(_typed(start_key[a], t) for a, t in zip(index.sort_attrs, types, strict=True))
            after = bisect.bisect_right(entries, start) if forward else bisect.bisect_left(entries, start) - 1
    if forward:
        first = max(lo, after if after is not None else 0)
        matches = max(0, hi - first)
        available = n - first
    else:
        first = min(hi - 1, after if after is not None else n - 1)
        matches = max(0, first - lo + 1)
        available = first + 1
    # Limit matching items and the next one (moto's LastEvaluatedKey comes from seeing it)
    length = min(matches, available) if limit is None else min(available, min(matches, limit) + 1)
    positions = range(first, first + length) if forward else range(first - length + 1, first + 1)
    items = _fetch(table, index, pid, entries, positions)
    if length < available and sum(item.size() for item in items) > RESULT_SIZE_SAFE:
        # near moto's 1 MB page: an item after the key range could end the page; let moto see all
        everything = range(first, n) if forward else range(0, first + 1)
        items = _fetch(table, index, pid, entries, everything)
    return items


class _Stale(Exception):
    pass


def _fetch(
    table: Any, index: _Index, partition: Any, entries: list[tuple[Any, ...]], positions: range
) -> list[Any]:
    """The items at these positions, each checked against its current attributes."""
    items = []
    for i in positions:
        key = index.keys[(partition, entries[i])]
        item = _lookup(table, key)
        found = index.entry(item) if item is not None else None
        if found is None or found[0] != partition or found[1] != entries[i]:
            raise _Stale
        items.append(item)
    return items


# ---------------------------------------------------------------------------------------- patches
def _request(
    table: Any, args: dict[str, Any], definition: tuple[str, list[str], list[str], bool]
) -> dict[str, Any]:
    """What the window needs from a query's arguments; _Broken when moto's walk must answer."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    partition_attr, sort_attrs, _, has_range = definition
    limit, forward = args["limit"], args["scan_index_forward"]
    if args["filter_kwargs"] or type(forward) is not bool:
        raise _Broken
    if limit is not None and (type(limit) is not int or limit < 1):
        raise _Broken
    start = args["exclusive_start_key"]
    if start is not None and not isinstance(start, dict):
        raise _Broken
    if args["index_name"] is None:
        partition = args["hash_key"]
    else:
        if args["consistent_read"]:
            raise _Broken
        conditions = args["hash_key_conditions"] or []
        if len(conditions) != 1 or conditions[0][0] != partition_attr:
            raise _Broken
        partition = conditions[0][1]
    if not isinstance(partition, DynamoType) or partition.type not in _KEY_TYPES:
        raise _Broken
    op, values = args["range_comparison"], list(args["range_objs"] or [])
    ranges = args["range_key_conditions"] or []
    if op is not None:
        if not has_range or op not in _OPS or len(ranges) != 1 or ranges[0][0] != sort_attrs[0]:
            raise _Broken
        if len(values) != (2 if op == "BETWEEN" else 1):
            raise _Broken
    elif ranges:
        raise _Broken
    return {
        "partition": partition,
        "op": op,
        "values": values,
        "forward": forward,
        "limit": limit,
        "start": start,
    }


def candidates(table: Any, args: dict[str, Any]) -> list[Any] | None:
    """The window for this query, or None when moto's full walk must answer."""
    index_name = args["index_name"]
    try:
        if index_name is None and table.range_key_attr is None:  # one item at most
            hash_key = args["hash_key"]
            if args["filter_kwargs"] or getattr(hash_key, "type", None) not in _KEY_TYPES:
                return None
            item = table.items.get(hash_key)
            return [item] if item is not None and not isinstance(item, dict) else []
        definition = _definition(table, index_name)
        if definition is None:
            return None
        request = _request(table, args, definition)
        for attempt in (False, True):
            index = _index(table, index_name, rebuild=attempt)
            if index is None or index.broken:
                return None
            try:
                return _window(table, index, request)
            except _Stale:
                COUNTS["stale"] += 1
        return None
    except _Broken:
        return None
    except Exception:  # a bug here must not fail the request: moto's walk answers, the index is rebuilt
        COUNTS["stale"] += 1
        INDEXES.pop(table, None)
        return None
