"""CPU time of processes from ``/proc/<pid>/stat`` (Linux): user + system, in seconds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    """The fields after the command name (which may hold spaces and parentheses); None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """utime + stime of ``pid`` (all its threads); with ``reaped_children``, plus cutime + cstime."""
    fields = _fields(pid)
    if fields is None:
        return 0.0
    # After the name: [0] state (field 3), [1] ppid, ... [11] utime (14), [12] stime (15), [13] cutime, [14] cstime.
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _fields(int(entry.name))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def children_by_parent() -> dict[int, list[int]]:
    """Live processes by parent pid."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _fields(int(entry.name))
        if fields is not None:
            found.setdefault(int(fields[1]), []).append(int(entry.name))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its direct children, live or exited (e.g. a PostgreSQL postmaster and its backends).

    An exited child's time moves into the parent's cutime/cstime when reaped, so the sum stays monotonic."""
    return cpu_seconds(pid, reaped_children=True) + sum(cpu_seconds(child, True) for child in children(pid))


@dataclass
class CpuProbe:
    """Named processes whose CPU time is read together; ``tree`` names include their direct children."""

    pids: dict[str, int] = field(default_factory=dict)
    tree: set[str] = field(default_factory=set)

    def add(self, name: str, pid: int, tree: bool = False) -> None:
        self.pids[name] = pid
        if tree:
            self.tree.add(name)

    def snapshot(self) -> dict[str, float]:
        """CPU seconds by name; a ``tree`` name as ``tree_cpu_seconds`` counts it, with one pass over /proc."""
        kids = children_by_parent() if self.tree else {}
        return {
            name: cpu_seconds(pid, True) + sum(cpu_seconds(child, True) for child in kids.get(pid, ()))
            if name in self.tree
            else cpu_seconds(pid)
            for name, pid in self.pids.items()
        }


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def add_into(total: dict[str, float], part: dict[str, float]) -> None:
    for name, value in part.items():
        total[name] = total.get(name, 0.0) + value


def all_processes() -> dict[int, tuple[str, float]]:
    """Every live process: pid -> (command name, utime + stime in seconds), to see who else used the cores."""
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def busiest_others(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], ours: set[int], seconds: float
) -> list[str]:
    """The processes (not in ``ours``) that used the most CPU between two ``all_processes`` readings, as
    ``"name pid: cores"``; those that started or ended in between are not seen."""
    used = []
    for pid, (name, cpu) in after.items():
        if pid in ours or pid not in before or seconds <= 0:
            continue
        cores = (cpu - before[pid][1]) / seconds
        if cores >= 0.02:
            used.append((cores, f"{name} {pid}: {cores:.2f}"))
    return [text for _, text in sorted(used, reverse=True)[:4]]
