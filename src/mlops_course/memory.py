"""How much memory a process and its children hold (Linux ``/proc``).

Introduced in notebooks/11_kubernetes.ipynb, which sizes a container's memory limit from what a
gunicorn server and its workers hold after the heaviest requests.
"""

from __future__ import annotations

import re
from pathlib import Path


def _rss_and_children(pid: int) -> tuple[int, list[int]]:
    """Resident KiB of one process and its direct children's ids."""
    match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return (int(match[1]) if match else 0), children


def tree_rss_mib(pid: int) -> float | None:
    """Resident memory of a process and all its descendants in MiB (Linux /proc; else None).

    What a container's memory limit sees for a server and its workers (page cache aside).
    """
    try:
        total, todo = _rss_and_children(pid)
    except OSError:  # not Linux, or no such process
        return None
    while todo:
        try:
            rss, children = _rss_and_children(todo.pop())
        except OSError:  # a child that just exited
            continue
        total, todo = total + rss, todo + children
    return total / 1024
