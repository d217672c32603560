#!/usr/bin/env python3
"""Benchmark the project's matching engine against installable peers (`make bench-engine`).

Creates the peers' virtual environment ``benchmarks/.peers`` from
``../shared/bench/requirements-peers.txt`` if it is missing, runs ``bench_peers.py`` with our
adapter (``benchmarks/engine_adapter.py``) in one run beside ``ref``, ``liquibook``,
``lightmatchingengine`` and ``orderly-chaos``, and prints ops/s and each engine's ratio to ``ref``.

Usage (from anywhere):
    python benchmarks/run_engine_bench.py [--runs 3] [--ops 200000] [--only ref,exchange-engine]
Environment: ``BENCH_DIR`` overrides the harness folder (default ``<repo>/../shared/bench``),
``BENCH_PEERS_VENV`` the peers venv (default ``benchmarks/.peers``).
Exits non-zero if our engine's result is not exact.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR", REPO.parent / "shared" / "bench")).resolve()
PEERS_VENV = Path(os.environ.get("BENCH_PEERS_VENV", HERE / ".peers")).resolve()
OURS = "exchange-engine"
DEFAULT_PEERS = f"ref,liquibook,lightmatchingengine,orderly-chaos,{OURS}"


def peers_python() -> str:
    """The peers venv's interpreter, created and filled on first use (a failed install of one peer
    only makes that peer FAILED in the table)."""
    py = PEERS_VENV / "bin" / "python"
    marker = PEERS_VENV / ".installed"
    if not marker.exists():
        if not py.exists():
            print(f"creating {PEERS_VENV} ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(PEERS_VENV)
        req = BENCH_DIR / "requirements-peers.txt"
        print(f"installing peers from {req} ...", flush=True)
        rc = subprocess.call([str(py), "-m", "pip", "install", "-q", "-r", str(req)])
        if rc == 0:
            marker.touch()
        else:
            print("warning: some peers did not install; they will show as FAILED", flush=True)
    return str(py)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=DEFAULT_PEERS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ops", type=int, default=200_000)
    args, extra = ap.parse_known_args()

    harness = BENCH_DIR / "bench_peers.py"
    if not harness.exists():
        print(f"bench harness not found at {harness} (set BENCH_DIR)", file=sys.stderr)
        return 2
    py = peers_python()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        cmd = [
            py, str(harness), "--only", args.only, "--runs", str(args.runs), "--ops", str(args.ops),
            "--adapter-file", str(HERE / "engine_adapter.py"), "--json", str(results), *extra,
        ]  # fmt: skip
        print("$", " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, cwd=REPO)
        if rc != 0:
            return rc
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []

    by_name = {r["peer"]: r for r in rows}
    ref = by_name.get("ref")
    print(f"\nsummary (median of {args.runs} runs, {args.ops} ops, same run):")
    for r in rows:
        exact = "exact" if (r["fills_exact"] and r["depth_ok"]) else "NOT EXACT"
        ratio = f"{r['ops_per_s'] / ref['ops_per_s']:.2f}x ref" if ref else ""
        print(f"  {r['peer']:<22}{r['ops_per_s']:>12,.0f} ops/s  {ratio:>10}  {exact}")
    ours = by_name.get(OURS)
    if ours is None:
        print(f"{OURS} did not run", file=sys.stderr)
        return 1
    return 0 if (ours["fills_exact"] and ours["depth_ok"]) else 1


if __name__ == "__main__":
    sys.exit(main())
