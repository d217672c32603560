"""CPU seconds (user + system, from /proc/<pid>/stat) of the load benchmark's processes: the local
stack's process (api, ws gateway, handlers, event sources), its moto child, and this process (the
load generator). Read before and after a phase, divided by the phase's settled orders: CPU per order
is what a 2-core machine shared with other work can still compare between runs, where orders/s
cannot."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICK  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def stack_cpu(stack_pid: int) -> dict[str, float]:
    """{"moto": ..., "stack": ..., "bench": ...}: the stack's child processes count as moto."""
    return {
        "moto": sum(cpu_s(c) for c in children(stack_pid)),
        "stack": cpu_s(stack_pid),
        "bench": cpu_s(os.getpid()),
    }


def per_order_ms(before: dict[str, float], after: dict[str, float], orders: int) -> dict[str, float]:
    if not orders:
        return {}
    return {k: (after[k] - before.get(k, 0.0)) * 1000 / orders for k in after}
