"""python -m tools.replay --url http://127.0.0.1:8000 [--email E --password P] SYMBOL... | --all

Exit 0 when every stock's replay is identical to its stored trades and book, 1 otherwise."""

from __future__ import annotations

import argparse
import os

from exchange.domain.replay import IDENTICAL
from tools.replay.check import Client, replay_all


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.replay", description=__doc__.splitlines()[0])
    p.add_argument("--url", default=os.environ.get("API_URL", "http://127.0.0.1:8000"))
    p.add_argument("--email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    p.add_argument("--password", default=os.environ.get("ADMIN_PASSWORD", "local-admin-password"))
    p.add_argument("--all", action="store_true", help="every listed stock")
    p.add_argument("--settle", type=float, default=0.0, help="seconds to re-check a stock that differs")
    p.add_argument("symbols", nargs="*")
    args = p.parse_args(argv)
    if bool(args.symbols) == args.all:
        p.error("give SYMBOL(s) or --all")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    client = Client.login(args.url, args.email, args.password)
    symbols = client.symbols() if args.all else args.symbols
    verdicts = replay_all(client, symbols, args.settle)
    bad = [s for s, v in verdicts.items() if v != IDENTICAL]
    differ = f"; differ: {' '.join(bad)}" if bad else ""
    print(f"{len(verdicts) - len(bad)} of {len(verdicts)} identical{differ}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
