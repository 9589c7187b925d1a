"""What runs below a process, read from /proc (Linux): for the no-leftover checks."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def live_children(pid: int) -> dict[int, str]:
    """Running (not zombie) children of ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended while we looked
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline.strip()
    return found


def descendants(pid: int) -> dict[int, str]:
    """Every running process below ``pid``: pid -> command line."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        children = live_children(todo.pop())
        found.update(children)
        todo.extend(children)
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: Iterable[int], timeout: float = 15.0) -> list[int]:
    """Wait until none of ``pids`` runs; return those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [p for p in left if running(p)]
    return left
