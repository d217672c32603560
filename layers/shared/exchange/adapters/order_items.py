"""An order record <-> its DynamoDB item (the order item and the sparse index keys derived from it),
shared by the adapters that read or write orders (matcher_store, audit_log)."""

from __future__ import annotations

from dataclasses import fields

from exchange import keys
from exchange.adapters.dynamo import Item
from exchange.domain.records import Order

_ORDER_FIELDS = tuple(f.name for f in fields(Order) if f.name != "extra")
# index attributes derived from the record (book_seq -> book_symbol, pending_since -> pending_shard,
# not final -> open_user: the order's Put drops it in the transaction that makes the order final)
_DERIVED = ("pk", "sk", "type", "book_symbol", "pending_shard", "open_user")
_INDEX_KEYS = ("book_seq", "pending_since")  # absent, never NULL, when not set


def order_from_item(item: Item) -> Order:
    known = {k: item[k] for k in _ORDER_FIELDS if k in item}
    extra = {k: v for k, v in item.items() if k not in _ORDER_FIELDS and k not in _DERIVED}
    return Order(**known, extra=extra)


def order_to_item(o: Order) -> Item:
    item: Item = {"pk": keys.user(o.user_id), "sk": keys.order_sk(o.id), "type": "order", **o.extra}
    for name in _ORDER_FIELDS:
        value = getattr(o, name)
        if value is not None or name not in _INDEX_KEYS:
            item[name] = value
    if o.book_seq is not None:
        item["book_symbol"] = o.symbol
    if o.pending_since is not None:
        item["pending_shard"] = keys.PENDING_SHARD
    if not o.is_final:
        item["open_user"] = o.user_id
    return item
