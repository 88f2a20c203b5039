"""memory.tree_rss_mib: a process's resident memory with its children's (Linux /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from mlops_course.memory import tree_rss_mib


def test_tree_rss_counts_children():
    hold = (
        "import time; x = bytearray(64 * 2**20); x[::4096] = b'1' * len(x[::4096]); time.sleep(30)"
    )
    child = subprocess.Popen([sys.executable, "-c", hold])
    try:
        deadline = time.monotonic() + 20
        while (tree_rss_mib(child.pid) or 0) < 64 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree_rss_mib(child.pid) >= 64
        own = tree_rss_mib(os.getpid())
        assert own is not None and own >= tree_rss_mib(child.pid)  # the child is ours
    finally:
        child.kill()
        child.wait()
    assert tree_rss_mib(child.pid) is None
