"""How local_stack/moto_index.py hooks into moto 5.2.5: Query answers over its window, every
write path re-reads the items it touched, and other actions that could change items drop the
index (see moto_index's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_stack.moto_index import COUNTS, CURRENT, INDEXES, KNOWN_ACTIONS, Key, candidates, drop_all, touch

_installed = False


def _patch_query() -> None:
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> list[Any]:
        if getattr(CURRENT, "table", None) is self:
            return list(CURRENT.items)
        return original_all_items(self)

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: Any = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: Any = None,
        range_key_conditions: Any = None,
        **filter_kwargs: Any,
    ) -> Any:
        def run() -> Any:
            return original_query(
                self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                scan_index_forward, projection_expressions, index_name, consistent_read,
                filter_expression, hash_key_conditions=hash_key_conditions,
                range_key_conditions=range_key_conditions, **filter_kwargs,
            )  # fmt: skip

        args = {
            "hash_key": hash_key, "range_comparison": range_comparison, "range_objs": range_objs,
            "limit": limit, "exclusive_start_key": exclusive_start_key,
            "scan_index_forward": scan_index_forward, "index_name": index_name,
            "consistent_read": consistent_read, "hash_key_conditions": hash_key_conditions,
            "range_key_conditions": range_key_conditions, "filter_kwargs": filter_kwargs,
        }  # fmt: skip
        items = candidates(self, args)
        if items is None:
            COUNTS["walked"] += 1
            return run()
        COUNTS["windowed"] += 1
        CURRENT.table, CURRENT.items = self, items
        try:
            return run()
        finally:
            CURRENT.table, CURRENT.items = None, ()

    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def _patch_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    def keyed(table: Any, attrs: Any) -> Key | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            return hash_value, range_value
        except Exception:  # an invalid key: the write raised and changed nothing
            return None

    def after(
        fn: Callable[..., Any], keys: Callable[..., list[tuple[Any, Key | None]]]
    ) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                if INDEXES:
                    for table, key in keys(*args, **kwargs):
                        if table is not None and key is not None:
                            touch(table, key)

        return wrapper

    def put_keys(self: Any, item_attrs: Any, *_: Any, **__: Any) -> list[tuple[Any, Key | None]]:
        return [(self, keyed(self, item_attrs))]

    def delete_keys(
        self: Any, hash_key: Any, range_key: Any, *_: Any, **__: Any
    ) -> list[tuple[Any, Key | None]]:
        return [(self, (hash_key, range_key))]

    def update_keys(self: Any, table_name: str, key: Any, *_: Any, **__: Any) -> list[tuple[Any, Key | None]]:
        table = self.tables.get(table_name)
        return [(table, keyed(table, key) if table is not None else None)]

    def transact_keys(self: Any, transact_items: Any, *_: Any, **__: Any) -> list[tuple[Any, Key | None]]:
        found: list[tuple[Any, Key | None]] = []
        for entry in transact_items:
            op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
            if not isinstance(op, dict):
                continue
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Item") or op.get("Key") or {}
            if table is not None:
                found.append((table, keyed(table, attrs)))
        return found

    Table.put_item = after(Table.put_item, put_keys)  # type: ignore[method-assign]
    Table.delete_item = after(Table.delete_item, delete_keys)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = after(DynamoDBBackend.update_item, update_keys)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = after(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items, transact_keys
    )


def _drop_on_other_actions() -> None:
    from moto.dynamodb.responses import DynamoHandler

    from local_stack.moto_fidelity import DYNAMODB_LOCK

    call_action = DynamoHandler.call_action

    def wrapper(self: Any) -> Any:
        with DYNAMODB_LOCK:  # the drop happens before another request can Query
            try:
                return call_action(self)
            finally:
                if self._get_action() not in KNOWN_ACTIONS:
                    drop_all()

    DynamoHandler.call_action = wrapper  # type: ignore[method-assign]


def install() -> None:
    """Idempotent; after moto_fidelity's transaction patch (its rollback is re-read here)."""
    global _installed
    if _installed:
        return
    _patch_query()
    _patch_writes()
    _drop_on_other_actions()
    _installed = True
