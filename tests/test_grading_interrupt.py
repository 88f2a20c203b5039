"""Ctrl-C during ``grade``: a clear message, a non-zero status, the CSV of what was graded, and
no kernel or sandbox left running (a real ``python -m mlops_course.labs grade`` subprocess)."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

from mlops_course.grading import assign, sandbox

LAB = "01_linear_regression_lab"
pytestmark = pytest.mark.slow


def running(marker: str) -> list[str]:
    """Command lines of the processes that mention ``marker`` (the grader's scratch folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if proc.name.isdigit() and marker in line:
            found.append(f"{proc.name}: {line[:120]}")
    return found


def submissions(tmp_path: Path) -> Path:
    """Four solved lab-01 notebooks, one per student."""
    solution = ROOT / "solutions" / f"{LAB}.ipynb"
    out = assign.otter_assign(solution, tmp_path / "assign")
    solved = nbformat.read(out / "autograder" / solution.name, as_version=4)
    for student in ("ana", "bob", "cy", "dee"):
        (tmp_path / "subs" / student).mkdir(parents=True)
        nbformat.write(solved, tmp_path / "subs" / student / solution.name)
    return tmp_path / "subs"


def test_ctrl_c_keeps_what_was_graded_and_leaves_nothing_running(tmp_path: Path):
    subs, grades = submissions(tmp_path), tmp_path / "grades.csv"
    scratch = Path(tempfile.mkdtemp(prefix="grading-sigint-"))  # the grader's TMPDIR: a marker
    scratch.chmod(0o755)
    argv = [sys.executable, "-m", "mlops_course.labs", "--root", str(ROOT), "grade", str(subs)]
    argv += ["-o", str(grades), "--jobs", "1", "--no-reference-check"]
    if not sandbox.available():
        argv.append("--no-sandbox")
    grader = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        start_new_session=True,  # a terminal's Ctrl-C goes to the foreground process group
    )
    try:
        first = grader.stdout.readline()  # "[1/4] ..." once the first submission is graded
        assert first.startswith("[1/4]"), first + grader.stderr.read()
        os.killpg(grader.pid, signal.SIGINT)
        err = grader.communicate(timeout=120)[1]
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
    try:
        assert grader.returncode == 130, err
        assert "interrupted: the CSV holds what was graded" in err
        assert "Traceback" not in err, err
        rows = {row["student"]: row for row in csv.DictReader(grades.open())}
        assert set(rows) == {"ana", "bob", "cy", "dee"}
        graded = {s for s, row in rows.items() if not row["error"]}
        assert "ana" in graded and graded != set(rows), rows
        assert all(float(rows[s]["total"]) == 8 for s in graded)
        for student in set(rows) - graded:
            assert rows[student]["error"] == "not graded (interrupted)"
        time.sleep(1)
        assert running(str(scratch)) == [], "a kernel or its sandbox outlived grading"
        assert list(scratch.iterdir()) == [], "the grader's scratch folder was left behind"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
