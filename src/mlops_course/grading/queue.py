"""Grade a folder of submissions: find them, warn about odd files, grade in parallel, write a CSV.

Each submission gets its own folder (owned by the unprivileged user) holding only a copy of its
notebook; the kernel sees nothing else that is writable. One line is printed per finished
submission; Ctrl-C stops the queue and keeps what was graded.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from mlops_course import project
from mlops_course.grading.assign import LabError, Question, lab_questions, solution_notebooks
from mlops_course.grading.kernel import run_submission, write_kernelspec
from mlops_course.grading.sandbox import NOBODY, Limits, environment, kernel_argv

SKIPPED = (".zip", ".py", ".html", ".pdf")


@dataclass
class Grade:
    """One submission's scores, or why it could not be graded."""

    student: str
    submission: str
    lab: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    possible: float = 0.0
    error: str = ""
    hints: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.scores.values())


def lab_name(path: Path) -> str:
    """The lab a submission belongs to, from the metadata otter put in the student notebook."""
    try:
        nb = json.loads(path.read_text())
        return nb["metadata"]["otter"]["assignment_name"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LabError("not a readable notebook (invalid JSON)") from None
    except (KeyError, TypeError):
        raise LabError("not a lab notebook (no otter metadata)") from None


def discover(submissions: Path, warn) -> list[Grade]:
    """``STUDENT/LAB.ipynb`` or ``LAB.ipynb`` files, sorted; warns about files it skips."""
    found = []
    for path in sorted(p for p in submissions.rglob("*") if p.is_file()):
        if ".ipynb_checkpoints" in path.parts:
            continue
        relative = path.relative_to(submissions)
        if path.suffix != ".ipynb":
            if path.suffix.lower() == ".ipynb" or path.suffix.lower() in SKIPPED:
                warn(f"skipped {relative}: only *.ipynb files are graded (rename or unpack it)")
            continue
        student = relative.parts[0] if len(relative.parts) > 1 else path.stem
        found.append(Grade(student=student, submission=str(relative)))
    return found


def named_lab(file_name: str, labs: list[str]) -> str:
    """The lab a file name points to (``01_linear_regression_lab``, ``ana_01_linear...``,
    ``01_lab.ipynb``: a lab's name or its ``NN_`` number), else ``""``."""
    stem = Path(file_name).stem
    named = [lab for lab in labs if lab in stem]
    numbered = [lab for lab in labs if stem.startswith(lab[:3]) and lab[:2].isdigit()]
    return max(named, key=len) if named else (numbered[0] if len(numbered) == 1 else "")


def naming_problem(submission: str, lab: str, labs: list[str]) -> str:
    """A warning when a submission's file name does not match the lab its content belongs to
    (it is graded as the lab of its content), or a top-level file gives no student name."""
    relative = Path(submission)
    named = named_lab(relative.name, labs)
    if named and named != lab:
        return f"{submission} is named after {named} but is a notebook of {lab}: graded as {lab}"
    if len(relative.parts) == 1 and named == lab:
        return (
            f"{submission} is a top-level notebook named after its lab: its student is "
            f"recorded as {relative.stem!r} (put it in a folder named after the student)"
        )
    if len(relative.parts) > 1 and relative.stem != lab:
        return f"{submission} is a notebook of {lab}: graded as {lab}"
    return ""


def hidden_folders(root: Path, submissions: Path, scratch: Path) -> list[Path]:
    """What a kernel must not see: the submissions, the grader's scratch, answers, history."""
    code = project.root(Path(project.__file__).parent)  # the checkout the kernel imports
    answers = [folder / name for folder in {root, code} for name in ("solutions", ".git")]
    return [submissions.resolve(), scratch, *answers]


def grade(
    root: Path,
    submissions: Path,
    jobs: int | None = None,
    *,
    isolation: str = "bwrap",
    limits: Limits | None = None,
    only: set[str] | None = None,
    progress=None,
    warn=print,
) -> list[Grade]:
    """Grade every notebook under ``submissions``, up to ``jobs`` at once, in sorted order.

    ``only`` limits grading to these submission paths (``--retry-failed``); the others are
    returned ungraded with an empty error. Ctrl-C marks what was not graded and returns.
    """
    root, limits = root.resolve(), limits or Limits()
    solutions = {s.stem: s for s in solution_notebooks(root)}
    grades = discover(submissions, warn)
    questions: dict[str, list[Question]] = {}
    queued: list[Grade] = []
    seen: dict[tuple[str, str], str] = {}
    for g in grades:
        if only is not None and g.submission not in only:
            continue
        path = submissions / g.submission
        try:
            g.lab = lab_name(path)
            if g.lab not in solutions:
                raise LabError(f"unknown lab {g.lab!r}")
            if misnamed := naming_problem(g.submission, g.lab, list(solutions)):
                warn(misnamed)
            if (g.student, g.lab) in seen:
                warn(
                    f"{g.student} has two notebooks of {g.lab}: {seen[g.student, g.lab]} "
                    f"and {g.submission} (both graded)"
                )
            seen[g.student, g.lab] = g.submission
            if g.lab not in questions:
                questions[g.lab] = lab_questions(solutions[g.lab])
            queued.append(g)
        except LabError as error:
            g.error = str(error)
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="mlops-grading-") as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o711)
        hide = hidden_folders(root, submissions, scratch)
        checkout = project.root(Path(project.__file__).parent)  # the code the kernel imports

        def run(index: int, g: Grade) -> Grade:
            base = scratch / f"s{index:04d}"
            work = base / "work"
            (work / ".kernel").mkdir(parents=True)
            copy = work / f"{g.lab}.ipynb"  # the name the lab's otter.Notebook(...) expects
            shutil.copy(submissions / g.submission, copy)
            if isolation:
                for folder in (work, work / ".kernel", copy):
                    os.chown(folder, NOBODY, NOBODY)
            env = environment(work, dict(os.environ))
            argv = kernel_argv(isolation, work, hide, limits, env, keep=(root, checkout))
            spec = write_kernelspec(base / "spec", argv)
            outcome = run_submission(copy, questions[g.lab], work, spec, limits, stop)
            g.scores, g.possible = outcome.scores, outcome.possible
            g.hints, g.problems = outcome.hints, outcome.problems
            if stop.is_set():
                g.error = "not graded (interrupted)"
            return g

        started = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1))
        futures = [pool.submit(run, i, g) for i, g in enumerate(queued)]
        try:
            for done, future in enumerate(as_completed(futures), 1):
                g = future.result()
                if progress:
                    progress(done, len(futures), g, time.monotonic() - started)
        except KeyboardInterrupt:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            for g, future in zip(queued, futures, strict=True):
                if future.cancelled() or not g.scores:
                    g.error = "not graded (interrupted)"
            raise Interrupted(grades) from None
        finally:
            pool.shutdown(wait=True)
    return grades


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during grading; ``grades`` holds what was graded so far."""

    def __init__(self, grades: list[Grade]):
        super().__init__("interrupted")
        self.grades = grades


def write_csv(grades: list[Grade], target: Path) -> None:
    """Write the grades atomically (a temporary file renamed over ``target``)."""
    questions = sorted({q for g in grades for q in g.scores}, key=lambda q: (len(q), q))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", newline="", dir=target.parent, prefix=f".{target.name}.", delete=False
    )
    with handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student",
                "lab",
                "submission",
                *questions,
                "total",
                "possible",
                "error",
                "hints",
                "problems",
            ]
        )
        for g in grades:
            scores = [g.scores.get(q, "") for q in questions]
            total = g.total if not g.error else ""
            writer.writerow(
                [
                    g.student,
                    g.lab,
                    g.submission,
                    *scores,
                    total,
                    g.possible,
                    g.error,
                    " | ".join(g.hints),
                    " | ".join(g.problems),
                ]
            )
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)


def failed_submissions(previous: Path) -> set[str]:
    """Submissions with an error in an earlier CSV (for ``--retry-failed``)."""
    with previous.open(newline="") as handle:
        return {row["submission"] for row in csv.DictReader(handle) if row["error"]}
