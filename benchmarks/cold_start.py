"""Cold start: how long importing each Lambda handler module takes in a fresh interpreter.

For each function of template.yaml, ``--reps`` fresh interpreters run ``python -X importtime -c
"import <handler module>"`` with what a Lambda has: the function's environment variables from the
template (resolved to local names, as the local stack resolves them), the function's folder as the
working directory and first on the path, then the layer (on Lambda its ``python/`` folder, here
``layers/shared``), then the packages. No network: ``AWS_ENDPOINT_URL`` points at a closed port
and every socket ``connect`` raises, so a module that touches AWS at import fails here (a finding).

Prints, per handler, the median (and min, max) of the handler module's cumulative ``-X importtime``
figure, the median CPU time of the whole child process (interpreter start-up included; on a loaded
machine it moves far less than wall-clock time) and, for the median run, the top contributors
(self time summed per top-level package; a handler's own line is the time its module body ran:
settings, clients, app construction). ``--against REF`` measures the handlers of another commit in
the same run, interleaved with the working tree's (before/after on the same machine load).

    .venv/bin/python benchmarks/cold_start.py                       # the venv's python (3.11)
    # Lambda's python3.12 with exactly the layer's pinned packages (+ boto3 as the runtime has):
    PYENV_VERSION=3.11.7:3.12.1 python3.12 -m pip install -t /tmp/cold312 \\
        -r layers/shared/requirements.txt -r functions/api/requirements.txt boto3==1.44.5
    .venv/bin/python benchmarks/cold_start.py --python python3.12 --site /tmp/cold312

``--tracing`` runs as on Lambda with ``Tracing: Active`` (LAMBDA_TASK_ROOT set, Powertools
tracing on: the X-Ray SDK is imported and patches botocore); by default tracing is off, as the
local stack and the tests run. ``--no-pyc`` measures copies of the layer, the function folders and
``--site`` without ``__pycache__`` (the standard library keeps its own): every one of their modules
is compiled at import, as on Lambda for a layer built with ``pip --no-compile`` (``/opt`` is
read-only, so nothing compiled is kept). A benchmark, not a test: it
prints figures, it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_stack.template import LocalTemplate  # noqa: E402

# what the child runs before the import: no socket may connect (a module touching AWS fails)
GUARD = (
    "import socket\n"
    "def _refuse(self, *a, **k):\n"
    "    raise OSError('network at import: connect%r' % (a,))\n"
    "socket.socket.connect = _refuse\n"
    "socket.socket.connect_ex = _refuse\n"
)
# the values the local stack gives instead of the template's secrets and endpoints
LOCAL_ENV = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@dataclass
class Run:
    total_us: int
    by_package: Counter[str]
    cpu_us: int = 0  # the whole child's user+sys CPU time (start-up included): steady under load


def parse_importtime(stderr: str, module: str) -> Run:
    by_package: Counter[str] = Counter()
    total = -1
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (p.strip() for p in line[len("import time:") :].split("|"))
        by_package[name.split(".")[0]] += int(self_us)
        if name == module:
            total = int(cumulative)
    if total < 0:
        raise RuntimeError(f"{module} was not imported:\n{stderr[-3000:]}")
    return Run(total, by_package)


def environment(
    fn_env: dict[str, str], root: Path, code_dir: Path, site: list[str], tracing: bool, no_pyc: bool
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env.update(fn_env)
    env.update(LOCAL_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(code_dir), str(root / "layers" / "shared"), *site])
    if tracing:
        env["LAMBDA_TASK_ROOT"] = str(code_dir)
        env["AWS_LAMBDA_FUNCTION_NAME"] = code_dir.name
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    if no_pyc:  # the copies have no __pycache__, and none is written: compiled at every import
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def measure(python: str, module: str, env: dict[str, str], cwd: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", f"{GUARD}import {module}"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        error = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
        raise RuntimeError("\n".join([f"importing {module} failed:", *error[-20:]]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = parse_importtime(proc.stderr, module)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run.cpu_us = int(cpu * 1_000_000)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="the interpreter to measure (default: this one)")
    ap.add_argument("--site", action="append", default=[], help="a packages folder to put on the path")
    ap.add_argument("--reps", type=int, default=5, help="fresh interpreters per handler (median)")
    ap.add_argument("--top", type=int, default=6, help="contributors to print per handler")
    ap.add_argument("--tracing", action="store_true", help="as on Lambda with Tracing: Active")
    ap.add_argument("--no-pyc", action="store_true", help="compile from source (no __pycache__)")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE over the template's values")
    ap.add_argument("--against", help="a git commit to measure beside the working tree (before/after)")
    ap.add_argument("--only", nargs="*", help="logical ids (default: every function)")
    args = ap.parse_args()

    functions = LocalTemplate().functions()
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"python {version} ({args.python}); site: {args.site or 'its own'}; reps {args.reps}; "
        f"tracing {'on' if args.tracing else 'off'}; pyc {'none' if args.no_pyc else 'cached'}"
    )
    startup = _startup_cpu_ms(args.python)
    print(f"an empty interpreter's start-up: {startup:.0f} ms CPU (what 'cpu ms' includes beyond the import)")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT}
        if args.against:  # the same handlers at another commit, measured in the same run, interleaved
            old = Path(tmp) / "against"
            old.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.against, "layers/shared", "functions"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            trees = {args.against: old, "now": ROOT}
        if args.no_pyc:  # copies without bytecode: a layer built with --no-compile, as on Lambda
            bare = Path(tmp) / "no-pyc"
            no_cache = shutil.ignore_patterns("__pycache__", "*.pyc")
            for label, root in list(trees.items()):
                for part in ("layers/shared", "functions"):
                    shutil.copytree(root / part, bare / label / part, ignore=no_cache)
                trees[label] = bare / label
            sites = []
            for i, site in enumerate(args.site):
                shutil.copytree(site, bare / f"site{i}", ignore=no_cache)
                sites.append(str(bare / f"site{i}"))
            args.site = sites
        print(
            f"{'function':<18}{'tree':<10}{'median ms':>10}{'min':>8}{'max':>8}{'cpu ms':>8}"
            "  top contributors (ms)"
        )
        for logical_id, fn in functions.items():
            if args.only and logical_id not in args.only:
                continue
            _measure_function(
                args, logical_id, fn.handler.rsplit(".", 1)[0], fn.environment, fn.code_dir, trees
            )


def _startup_cpu_ms(python: str, reps: int = 5) -> float:
    cpu = []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([python, "-c", "pass"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(cpu) * 1000


def _measure_function(
    args: argparse.Namespace,
    logical_id: str,
    module: str,
    fn_env: dict[str, str],
    code_dir: Path,
    trees: dict[str, Path],
) -> None:
    runs: dict[str, list[Run]] = {label: [] for label in trees}
    failed: dict[str, str] = {}
    for _ in range(args.reps):
        for label, root in trees.items():
            if label in failed:
                continue
            here = root / code_dir.relative_to(ROOT)
            env = environment(fn_env, root, here, args.site, args.tracing, args.no_pyc)
            env.update(kv.split("=", 1) for kv in args.env)
            try:
                runs[label].append(measure(args.python, module, env, here))
            except RuntimeError as exc:
                failed[label] = str(exc).strip().splitlines()[-1]
    for label, got in runs.items():
        if label in failed:
            print(f"{logical_id:<18}{label:<10}{'FAILED':>10}  {failed[label]}")
            continue
        got.sort(key=lambda r: r.total_us)
        median = got[len(got) // 2]
        top = ", ".join(f"{name} {us / 1000:.0f}" for name, us in median.by_package.most_common(args.top))
        print(
            f"{logical_id:<18}{label:<10}{statistics.median(r.total_us for r in got) / 1000:>10.0f}"
            f"{got[0].total_us / 1000:>8.0f}{got[-1].total_us / 1000:>8.0f}"
            f"{statistics.median(r.cpu_us for r in got) / 1000:>8.0f}  {top}"
        )


if __name__ == "__main__":
    main()
