"""Repository-wide pytest settings: what nbval collects, per-notebook durations, a check that
the run leaves no process behind, and how ``make test`` groups tests over its workers.

The check: at the start of the session, ``MLOPS_COURSE_TEST_SESSION`` is set to a value unique
to this run, so every process the run starts carries it in its environment (servers, kernels,
gunicorn workers, their children), even once its parent has died and it has been handed to
another. At the end, after every fixture and nbval kernel has been torn down, any such process
still running, and any descendant of pytest, gets ``MLOPS_COURSE_LEFTOVER_GRACE_S`` (15 s) to
exit; those that do not are listed (pid, command), stopped (SIGTERM, SIGKILL 5 s later), and the
run fails. Only this run's processes are looked at: another run on the same machine (say,
another ``make test``) carries another value, and a server someone started by hand carries none.
A child started with an environment of its own (``env=`` without ``os.environ``) is seen only
while it descends from pytest. Needs psutil (in dev.lock; the check is skipped without it).

The groups (``make test`` runs ``pytest -n N --dist loadgroup``, pytest-xdist): a group runs on
one worker, in order.
- A file is a group: its module fixtures are built once, and a notebook's cells share one kernel.
- A lab's tests (``[NN_name_lab]``) are their own group, so the twelve labs spread across workers.
- Everything that drives the Docker engine (``tests/test_docker*.py``, lessons and labs 09 and
  10) is one group, so builds and containers never race each other.
xdist's own ``loadgroup`` reads ``xdist_group`` marks through a node-ID rewrite that pytest 9.2
ignores (pytest-dev/pytest-xdist#1386), so the groups are derived from node IDs here. Tests that
share a node ID (schemathesis gives one to every API operation) would run once under xdist, so
the run stops on them; they are marked ``serial`` and run after the workers, in one process.
"""

import os
import re
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest

SESSION_MARK = "MLOPS_COURSE_TEST_SESSION"
GRACE_S = float(os.environ.get("MLOPS_COURSE_LEFTOVER_GRACE_S", "15"))

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


_marks: list[tuple[str, str | None]] = []  # (this session's mark, the value it replaced)


def pytest_sessionstart(session):
    _marks.append((f"{os.getpid()}-{uuid.uuid4().hex[:12]}", os.environ.get(SESSION_MARK)))
    os.environ[SESSION_MARK] = _marks[-1][0]


def leftover_processes(mark: str) -> list:
    """Running processes (psutil) that descend from this one or carry ``mark``; not zombies."""
    import psutil

    me = psutil.Process()
    found = {child.pid: child for child in me.children(recursive=True)}
    for process in psutil.process_iter():
        if process.pid in found or process.pid == me.pid:
            continue
        try:
            if process.environ().get(SESSION_MARK) == mark:
                found[process.pid] = process
        except (psutil.Error, OSError):  # gone meanwhile, or not ours to read
            pass
    running = []
    for process in found.values():
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.Error:
            pass
    return running


@pytest.hookimpl(trylast=True)  # after the fixtures' and nbval's teardown (in pytest's runner)
def pytest_sessionfinish(session):
    if not _marks:
        return
    mark, before = _marks.pop()
    if before is None:
        os.environ.pop(SESSION_MARK, None)
    else:
        os.environ[SESSION_MARK] = before
    try:
        import psutil
    except ImportError:
        return
    deadline = time.monotonic() + GRACE_S
    left = leftover_processes(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = leftover_processes(mark)
    if not left:
        return
    lines = []
    for process in left:
        try:
            lines.append(f"{process.pid:>7}  {' '.join(process.cmdline()) or process.name()}")
            process.terminate()  # a chance to clean up (gunicorn removes its metrics folder)
        except psutil.Error:
            pass
    for process in psutil.wait_procs(left, timeout=5)[1]:
        try:
            process.kill()
        except psutil.Error:
            pass
    if not lines:  # all gone by themselves in the meantime
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    header = f"still running {GRACE_S:g} s after the last test (now stopped):"
    if reporter is not None:
        reporter.ensure_newline()
        reporter.section("processes left behind", sep="=", red=True, bold=True)
        for line in [header, *lines]:
            reporter.write_line(line)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


DOCKER = re.compile(r"(^|/)(tests/test_docker\w*\.py|(notebooks|solutions)/(09|10)_\w*\.ipynb)$")
LAB = re.compile(r"\[(\d\d_\w+_lab)\]$")


def group_of(nodeid: str) -> str:
    """The group of the test ``nodeid`` (``path::name[params]``)."""
    path = nodeid.split("::", 1)[0]
    if DOCKER.search(path):
        return "docker"
    lab = LAB.search(nodeid)
    return f"{path}[{lab.group(1)}]" if lab else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Stop when tests share a node ID: xdist would run only one of them."""
    shared = sorted(nodeid for nodeid, n in Counter(ids).items() if n > 1)
    if shared:
        pytest.exit(
            f"{len(shared)} node ID(s) name several tests, so xdist would run one of each "
            f"(first: {shared[0]}); mark the module with pytest.mark.serial",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.hookimpl(optionalhook=True)  # the course image has pytest without xdist
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """xdist's scope scheduling, with :func:`group_of` as the scope."""

        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)
