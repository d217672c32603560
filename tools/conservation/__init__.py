"""The conservation checker: the contract's money rules on the stored state of the exchange table.

    python -m tools.conservation --endpoint http://127.0.0.1:<moto port>   (make check-conservation)

Importable by tests: ``check(Snapshot.from_items(items))`` on synthetic items, ``load(endpoint)``
to read a running local stack's table.
"""

from __future__ import annotations

from tools.conservation.loader import load, scan_items
from tools.conservation.records import Snapshot
from tools.conservation.rules import Violation, check

__all__ = ["Snapshot", "Violation", "check", "load", "scan_items"]
