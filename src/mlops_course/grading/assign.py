"""What a lab asks: ``otter assign`` output, and the questions and test cases of each lab.

The tests are read into the grader's memory from otter's autograder zip and sent to the kernel
only after the submission's own cells ran: they never exist on a disk the submission can read.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from otter.test_files.ok_test import OKTestFile

OTTER = str(Path(sys.executable).with_name("otter"))


class LabError(RuntimeError):
    """A lab could not be generated or graded; the message says why."""


def solution_notebooks(root: Path) -> list[Path]:
    return sorted((root / "solutions").glob("*_lab.ipynb"))


def otter_assign(solution: Path, out: Path) -> Path:
    """Run ``otter assign``; returns the output folder with ``student/`` and ``autograder/``."""
    done = subprocess.run(
        [OTTER, "assign", "--no-run-tests", str(solution.resolve()), str(out.resolve())],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise LabError(f"otter assign failed on {solution.name}: {tail[0]}")
    return out


@dataclass(frozen=True)
class Case:
    """One doctest of a question, its points and the hint shown when it fails."""

    code: str
    points: float
    hidden: bool
    hint: str


@dataclass(frozen=True)
class Question:
    name: str
    cases: tuple[Case, ...]

    @property
    def possible(self) -> float:
        return sum(case.points for case in self.cases)


def read_question(text: str, path: str) -> Question:
    """A question from one OK-format test file of otter's autograder (our own generated code)."""
    namespace: dict = {}
    exec(compile(text, path, "exec"), namespace)  # otter writes ``test = {...}``
    spec = OKTestFile.from_spec(namespace["test"], path=path)
    cases = tuple(
        Case(c.body, float(c.points), bool(c.hidden), c.failure_message or "")
        for c in spec.test_cases
    )
    return Question(spec.name, cases)


def lab_questions(solution: Path) -> list[Question]:
    """The questions of one lab, in order, with hidden cases, read from ``otter assign``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = otter_assign(solution, Path(tmp) / "dist")
        archive = next((out / "autograder").glob("*.zip"))
        with zipfile.ZipFile(archive) as zipped:
            names = [n for n in zipped.namelist() if n.startswith("tests/") and n.endswith(".py")]
            questions = [read_question(zipped.read(n).decode(), n) for n in names]
    return sorted(questions, key=lambda q: (len(q.name), q.name))
