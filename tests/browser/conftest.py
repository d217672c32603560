"""The browser tier: headless Debian Chromium driven by Playwright for Python, against the local
stack (tests/conftest.py's ``stack``). Playwright never downloads a browser here: it launches
/usr/bin/chromium (``make test`` installs Debian's package when it is missing). Where no browser can be
had, the tests skip with the reason, and the summary ends with a warning line saying so."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_skipped: list[str] = []


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}): make test installs requirements/dev.txt"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (make test tries that itself)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        _skipped.append(reason)
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")
    from playwright.sync_api import sync_playwright

    # launch() starts Chromium with a new empty profile folder of Playwright's own (it refuses a
    # --user-data-dir argument: that is launch_persistent_context's, which has one context only)
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        except Exception as exc:  # a browser that is there but cannot start: say so, loudly
            _skipped.append(f"{CHROMIUM} did not start: {exc}")
            pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} did not start: {exc}")
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in dict.fromkeys(_skipped):
        terminalreporter.write_line(
            f"WARNING: the browser tests did not run: {reason}", yellow=True, bold=True
        )
