#!/usr/bin/env python3
"""Benchmark the project's matching engine against installable peers (`make bench-engine`).

Creates the peers' virtual environment ``benchmarks/.peers`` from
``../shared/bench/requirements-peers.txt`` if it is missing, runs ``bench_peers.py`` with our
adapter (``benchmarks/engine_adapter.py``) in one run beside ``ref``, ``liquibook``,
``lightmatchingengine`` and ``orderly-chaos``, and prints ops/s and each engine's ratio to ``ref``.

Usage (from anywhere):
    python benchmarks/run_engine_bench.py [--runs 3] [--ops 200000] [--only ref,exchange-engine] [--mypyc]
``--mypyc`` also compiles the engine module with mypyc into a temporary folder (needs a C compiler;
the source tree is not touched) and benchmarks it as the extra peer ``exchange-engine-mypyc``.
Other options are passed on to bench_peers.py.
Environment: ``BENCH_DIR`` overrides the harness folder (default ``<repo>/../shared/bench``),
``BENCH_PEERS_VENV`` the peers venv (default ``benchmarks/.peers``).
Exits non-zero if our engine's result is not exact.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
OURS_MYPYC = "exchange-engine-mypyc"
ENGINE_SRC = REPO / "layers" / "shared" / "exchange" / "domain" / "engine.py"

# The adapter for the compiled engine: the project's adapter, importing from the build folder.
MYPYC_ADAPTER = """\
import importlib.util
import sys

_spec = importlib.util.spec_from_file_location("engine_adapter_pure", {adapter!r})
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)


class MypycEngineAdapter(_base.ExchangeEngineAdapter):
    name = {name!r}

    def __init__(self):
        sys.path.insert(0, {build!r})
        super().__init__()
        import exchange.domain.engine as engine

        if not engine.__file__.endswith((".so", ".pyd")):
            raise RuntimeError("not the compiled engine: " + engine.__file__)


ADAPTER = MypycEngineAdapter
"""
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


def build_mypyc(tmp: Path) -> Path:
    """Compile a copy of the engine module with mypyc; returns the adapter file that loads it."""
    build = tmp / "build"
    pkg = build / "exchange" / "domain"
    pkg.mkdir(parents=True)
    for init in (build / "exchange" / "__init__.py", pkg / "__init__.py"):
        init.touch()
    shutil.copy(ENGINE_SRC, pkg / "engine.py")
    print("compiling the engine with mypyc ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "mypyc", "exchange/domain/engine.py"],
        cwd=build, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    adapter_dir = tmp / "adapter"
    adapter_dir.mkdir()
    adapter = adapter_dir / "engine_adapter_mypyc.py"
    adapter.write_text(
        MYPYC_ADAPTER.format(adapter=str(HERE / "engine_adapter.py"), name=OURS_MYPYC, build=str(build))
    )
    return adapter


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=DEFAULT_PEERS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument(
        "--mypyc", action="store_true", help=f"also benchmark the mypyc-compiled engine ({OURS_MYPYC})"
    )
    args, extra = ap.parse_known_args()

    harness = BENCH_DIR / "bench_peers.py"
    if not harness.exists():
        print(f"bench harness not found at {harness} (set BENCH_DIR)", file=sys.stderr)
        return 2
    py = peers_python()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        only = args.only
        adapters = ["--adapter-file", str(HERE / "engine_adapter.py")]
        if args.mypyc:
            adapters += ["--adapter-file", str(build_mypyc(Path(tmp)))]
            only += f",{OURS_MYPYC}"
        cmd = [
            py, str(harness), "--only", only, "--runs", str(args.runs), "--ops", str(args.ops),
            *adapters, "--json", str(results), *extra,
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
    ok = True
    for name in (OURS, OURS_MYPYC) if args.mypyc else (OURS,):
        r = by_name.get(name)
        if r is None or not (r["fills_exact"] and r["depth_ok"]):
            print(f"{name}: did not run or not exact", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
