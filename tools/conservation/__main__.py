"""`make check-conservation`: check a running local stack's exchange table; exit 1 on a violation."""

from __future__ import annotations

import argparse
import os
import sys

from tools.conservation.loader import TABLE, load
from tools.conservation.rules import check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.conservation", description=__doc__)
    default = f"http://127.0.0.1:{os.environ['MOTO_PORT']}" if os.environ.get("MOTO_PORT") else None
    p.add_argument(
        "--endpoint",
        default=default,
        required=default is None,
        help="the local stack's moto endpoint (printed by `make run`; default from MOTO_PORT)",
    )
    p.add_argument("--table", default=TABLE)
    p.add_argument(
        "--allow-pending", action="store_true", help="the system is not quiet: orders may still be pending"
    )
    args = p.parse_args(argv)
    snap = load(args.endpoint, args.table)
    violations = check(snap, quiet=not args.allow_pending)
    for v in violations:
        print(f"VIOLATION {v}")
    print(
        f"checked {len(snap.cash)} accounts, {len(snap.holdings)} holdings, {len(snap.orders)} orders, "
        f"{len(snap.fills)} fills, {len(snap.trades)} trades, {len(snap.books)} books: "
        f"{len(violations)} violations"
    )
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
