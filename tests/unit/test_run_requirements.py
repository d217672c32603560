"""`make run` installs requirements/run.txt only: every third-party module that the local stack and
the functions import must come from that set (its packages and what they depend on), or `make run`
breaks on a fresh machine while the tests, in the dev venv, pass."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement

from local_stack.template import ROOT

RUNNING_CODE = [ROOT / "local_stack", ROOT / "layers" / "shared" / "exchange", ROOT / "functions"]


def _requirements(path: Path) -> list[Requirement]:
    found: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += _requirements((path.parent / line[3:].strip()).resolve())
        elif line:
            found.append(Requirement(line))
    return found


def _closure(requirements: list[Requirement]) -> set[str]:
    """The distributions that installing ``requirements`` brings (from this venv's metadata)."""
    seen: set[tuple[str, str]] = set()
    todo = [(r.name, extra) for r in requirements for extra in ("", *r.extras)]
    while todo:
        name, extra = todo.pop()
        key = (name.lower().replace("_", "-"), extra)
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.distribution(name).requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, e) for e in ("", *req.extras)]
    return {name for name, _ in seen}


def _imported_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for folder in RUNNING_CODE:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    modules.setdefault(name.split(".")[0], path)
    return modules


def test_everything_the_running_code_imports_is_in_the_run_requirements() -> None:
    installed = _closure(_requirements(ROOT / "requirements" / "run.txt"))
    providers = metadata.packages_distributions()
    missing = {}
    for module, path in _imported_modules().items():
        if module in sys.stdlib_module_names or module not in providers:
            continue  # the standard library, or our own code (local_stack, exchange, api_app, handlers)
        dists = {d.lower().replace("_", "-") for d in providers[module]}
        if not dists & installed:
            missing[module] = str(path.relative_to(ROOT))
    assert not missing, f"imported by the running code but not in requirements/run.txt: {missing}"
