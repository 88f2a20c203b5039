"""Repository-wide pytest settings: what nbval collects, and per-notebook durations."""

from collections import defaultdict
from pathlib import Path

# The template is a skeleton, not a lesson; labs/ is the unfilled student version.
collect_ignore_glob = ["notebooks/_*.ipynb", "labs/*", "build/*"]

_notebook_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    terminalreporter.section("notebook durations (nbval, all cells)")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:7.1f} s  {Path(path)}")
    total = sum(_notebook_seconds.values())
    terminalreporter.write_line(f"{total:7.1f} s  total ({len(_notebook_seconds)} notebooks)")
