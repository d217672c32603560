"""The tables benchmarks/aws_cost.py prints: units per scenario, dollars per million orders."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.aws_cost_meter import Usage, item_size, wru
from exchange import book_codec

MEMORY_GB = 512 / 1024  # template.yaml Globals.Function.MemorySize


def dollars(u: Usage, ms: Mapping[str, float], prices: Mapping[str, float]) -> dict[str, float]:
    invocations = sum(u.lambda_invocations.values())
    gb_s = sum(n * MEMORY_GB * ms[fn] / 1000 for fn, n in u.lambda_invocations.items())
    return {
        "DynamoDB writes": (u.wru + u.gsi_wru) * prices["wru"],
        "DynamoDB reads": u.rru * prices["rru"],
        "Streams": u.stream_reads * prices["stream_read"],
        "SQS": u.sqs * prices["sqs_fifo"],
        "Lambda": invocations * prices["lambda_request"] + gb_s * prices["lambda_gb_s"],
        "API GW REST": u.rest_requests * prices["rest_request"],
        "API GW WebSocket": u.ws_messages * prices["ws_message"],
    }


def report(
    results: Sequence[tuple[str, int, Usage]],
    ms: Mapping[str, float],
    prices: Mapping[str, float],
    sources: str,
    args: argparse.Namespace,
) -> None:
    print(
        f"AWS cost per order, measured on the real handlers (moto in-process); "
        f"{args.watchers} connection(s) on each stock channel, one per trader on its user channel; "
        f"Lambda {int(MEMORY_GB * 1024)} MB x assumed "
        f"api {ms['api']:.0f} / matcher {ms['matcher']:.0f} / notifier {ms['notifier']:.0f} ms"
    )
    print(sources)
    header = (
        f"{'scenario':<20}{'book':>5}{'WRU':>6}{'GSI':>5}{'RRU':>6}{'strm':>5}{'SQS':>5}"
        f"{'λ':>5}{'REST':>5}{'WS':>5}{'BOOK B':>8}{'BOOK WRU':>9}{'$/M orders':>12}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, deep, u in results:
        d = dollars(u, ms, prices)
        book = max(u.book_sizes) if u.book_sizes else 0
        print(
            f"{name:<20}{deep:>5}{u.wru:>6.1f}{u.gsi_wru:>5.1f}{u.rru:>6.2f}{u.stream_reads:>5.1f}{u.sqs:>5.1f}"
            f"{sum(u.lambda_invocations.values()):>5.1f}{u.rest_requests:>5.1f}{u.ws_messages:>5.1f}"
            f"{book:>8}{u.book_wru:>9g}{sum(d.values()) * 1e6:>12.2f}"
        )
    print()
    print("$ per million orders by service:")
    services = list(dollars(Usage(), ms, prices))
    print(f"{'scenario':<20}{'book':>5}" + "".join(f"{s:>18}" for s in services))
    for name, deep, u in results:
        d = dollars(u, ms, prices)
        print(f"{name:<20}{deep:>5}" + "".join(f"{d[s] * 1e6:>18.2f}" for s in services))
    print()
    print("table WRU by item (DynamoDB writes):")
    for name, deep, u in results:
        parts = ", ".join(f"{k} {v:g}" for k, v in sorted(u.by_item.items(), key=lambda kv: -kv[1]))
        print(f"  {name:<20}{deep:>5}: {parts}")
    print()
    print("AWS requests per scenario:")
    for name, deep, u in results:
        calls = ", ".join(f"{k} {v:g}" for k, v in sorted(u.calls.items()))
        print(f"  {name:<20}{deep:>5}: {calls}")
    if args.writes:
        for name, deep, u in results:
            print(f"\nwrites of {name} (book {deep}): op, item, bytes before, bytes after, WRU")
            for w in u.writes:
                print("  ", *w)
    _book_encodings(results, prices)


def _as_json_text(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The same BOOK item as the matcher wrote it before book_codec (levels and events as JSON text)."""
    if not item or "levels_z" not in item:
        return dict(item) if item else None
    plain = {"levels_z": item["levels_z"]["B"], "events_z1": item["events_z1"]["B"]}
    bids, asks = book_codec.levels(plain)
    out = {k: v for k, v in item.items() if k not in ("levels_z", "events_z1")}
    for name, value in (("bids", bids), ("asks", asks), ("events", book_codec.events(plain))):
        out[name] = {"S": json.dumps(value, separators=(",", ":"))}
    return out


def _book_encodings(results: Sequence[tuple[str, int, Usage]], prices: Mapping[str, float]) -> None:
    """Before/after of the BOOK item's encoding, from the very items of this run."""
    print()
    print("BOOK item, as written (levels and events zlib-compressed) vs the same item as JSON text (before):")
    print(
        f"{'scenario':<20}{'book':>5}{'bytes now':>11}{'bytes before':>14}{'WRU now':>9}{'WRU before':>12}"
        f"{'saves $/M orders':>18}"
    )
    for name, deep, u in results:
        now = before = 0
        sizes_now, sizes_before = [], []
        for old, new in u.book_items:
            sizes_now.append(item_size(new))
            sizes_before.append(item_size(_as_json_text(new)))
            now += 2 * wru(max(item_size(old), item_size(new)))
            before += 2 * wru(max(item_size(_as_json_text(old)), item_size(_as_json_text(new))))
        print(
            f"{name:<20}{deep:>5}{max(sizes_now, default=0):>11}{max(sizes_before, default=0):>14}"
            f"{now / u.orders:>9g}{before / u.orders:>12g}"
            f"{(before - now) / u.orders * prices['wru'] * 1e6:>18.2f}"
        )
