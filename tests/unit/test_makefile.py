"""The Makefile: `make help` lists every target, and `make run` installs only what running needs while
`make test` adds the tools (one venv marker per requirements set). Dry runs (`make -n`) against a
throwaway VENV: nothing is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from local_stack.template import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _make(*args: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _targets() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    return re.findall(r"^([a-z][a-zA-Z0-9_-]*):(?!=)", text, flags=re.MULTILINE)


def test_make_help_lists_every_target_with_one_line() -> None:
    listed = {}
    for line in _make("help").splitlines()[1:]:
        name, _, description = line.strip().partition(" ")
        listed[name] = description.strip()
    targets = _targets()
    assert {"run", "test", "reset", "help", "chaos", "e2e"} <= set(targets)
    assert sorted(listed) == sorted(targets)
    assert all(listed.values()), listed


def test_help_is_what_a_bare_make_prints() -> None:
    assert _make() == _make("help")


def _installs(output: str) -> list[str]:
    return re.findall(r"pip install --progress-bar off -r (requirements/\w+\.txt)", output)


def test_make_run_installs_only_what_running_needs(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _installs(_make("-n", f"VENV={venv}", "run")) == ["requirements/run.txt"]


def test_make_test_on_a_fresh_machine_installs_both_sets(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    installs = [r for r in _installs(_make("-n", f"VENV={venv}", "test")) if r != "requirements/sam.txt"]
    assert installs == ["requirements/run.txt", "requirements/dev.txt"]  # (.venv-sam: its own, may be stale)


def test_make_test_after_make_run_adds_only_the_tools(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed-run").touch()
    assert _installs(_make("-n", f"VENV={venv}", "unit")) == ["requirements/dev.txt"]
    (venv / ".installed-dev").touch()
    assert _installs(_make("-n", f"VENV={venv}", "unit")) == []
    assert _installs(_make("-n", f"VENV={venv}", "run")) == []


def test_dev_requirements_include_the_run_set() -> None:
    dev = (ROOT / "requirements" / "dev.txt").read_text().splitlines()
    run = (ROOT / "requirements" / "run.txt").read_text().splitlines()
    assert "-r run.txt" in dev
    pins = [line for line in run + dev if line and not line.startswith(("#", "-r"))]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[0-9][0-9A-Za-z.]*", pin) for pin in pins), pins
