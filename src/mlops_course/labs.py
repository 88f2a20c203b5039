"""Labs: generate the student notebooks from solutions/ and grade submissions, with otter-grader.

Each lab is written once, in otter's assignment format, as ``solutions/NN_topic_lab.ipynb``.
``otter assign`` turns it into a student notebook (solutions replaced by ``...``, outputs and
hidden tests removed) and an autograder; this module only orchestrates that:

    python -m mlops_course.labs generate            # solutions/ -> labs/        (make labs)
    python -m mlops_course.labs check               # labs/ up to date?          (make labs-check)
    python -m mlops_course.labs grade SUBMISSIONS -o grades.csv

Why orchestrate at all: otter writes a fresh random id into the cells it adds, so ``generate``
gives them stable ids (otherwise ``check`` could never say "unchanged"), and ``otter grade``
needs Docker, so ``grade`` runs otter's non-containerised ``otter run`` on each submission.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

OTTER = str(Path(sys.executable).with_name("otter"))
GRADE_TIMEOUT_S = 300


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


def student_version(solution: Path) -> str:
    """The student notebook for ``solution``, as the exact text ``generate`` writes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = otter_assign(solution, Path(tmp) / "dist")
        nb = nbformat.read(out / "student" / solution.name, as_version=4)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"lab-{index:03d}"
    return nbformat.writes(nb) + "\n"


def generate(root: Path) -> list[Path]:
    """Write labs/ from solutions/, and remove labs whose solution is gone."""
    labs = root / "labs"
    labs.mkdir(exist_ok=True)
    written = []
    for solution in solution_notebooks(root):
        target = labs / solution.name
        target.write_text(student_version(solution))
        written.append(target)
    for orphan in set(labs.glob("*.ipynb")) - set(written):
        orphan.unlink()
    return written


def stale(root: Path) -> list[str]:
    """Every way labs/ differs from what solutions/ generates (empty when in sync)."""
    problems = []
    expected = {s.name: s for s in solution_notebooks(root)}
    for name, solution in expected.items():
        lab = root / "labs" / name
        if not lab.exists():
            problems.append(f"labs/{name} is missing")
        elif lab.read_text() != student_version(solution):
            problems.append(f"labs/{name} differs from what solutions/{name} generates")
    for lab in sorted((root / "labs").glob("*.ipynb")):
        if lab.name not in expected:
            problems.append(f"labs/{lab.name} has no solutions/{lab.name}")
    return problems


@dataclass
class Grade:
    """One submission's scores, or why it could not be graded."""

    student: str
    submission: str
    lab: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    possible: float = 0.0
    error: str = ""


def lab_name(path: Path) -> str:
    """The lab a submission belongs to, from the metadata otter put in the student notebook."""
    try:
        nb = json.loads(path.read_text())
        return nb["metadata"]["otter"]["assignment_name"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise LabError("not a readable notebook (invalid JSON)") from None
    except (KeyError, TypeError):
        raise LabError("not a lab notebook (no otter metadata)") from None


def otter_run(autograder: Path, submission: Path) -> tuple[dict[str, float], float]:
    """Grade one notebook with ``otter run``; returns per-question scores and points possible."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(
                [OTTER, "run", "-a", str(autograder), "-o", tmp, str(submission.resolve())],
                capture_output=True,
                text=True,
                timeout=GRADE_TIMEOUT_S,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            raise LabError(f"grading took longer than {GRADE_TIMEOUT_S} s") from None
        results = Path(tmp) / "results.json"
        if done.returncode != 0 or not results.exists():
            tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
            raise LabError(f"otter run failed: {tail[0]}")
        tests = json.loads(results.read_text())["tests"]
    graded = [t for t in tests if t.get("max_score") is not None]
    return {t["name"]: float(t["score"]) for t in graded}, sum(t["max_score"] for t in graded)


def grade(root: Path, submissions: Path, jobs: int | None = None) -> list[Grade]:
    """Grade every notebook under ``submissions`` (``STUDENT/LAB.ipynb`` or ``LAB.ipynb``).

    Each ``otter run`` executes a whole notebook in its own kernel, so up to ``jobs`` of them
    run at once (default: one per core); the grades keep the submissions' sorted order.
    """
    solutions = {s.stem: s for s in solution_notebooks(root)}
    grades: list[Grade] = []
    with tempfile.TemporaryDirectory() as tmp:
        autograders: dict[str, Path] = {}
        runs: list[tuple[Grade, Path]] = []
        for path in sorted(submissions.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            relative = path.relative_to(submissions)
            student = relative.parts[0] if len(relative.parts) > 1 else path.stem
            result = Grade(student=student, submission=str(relative))
            grades.append(result)
            try:
                result.lab = lab_name(path)
                if result.lab not in solutions:
                    raise LabError(f"unknown lab {result.lab!r}")
                if result.lab not in autograders:
                    out = otter_assign(solutions[result.lab], Path(tmp) / result.lab)
                    autograders[result.lab] = next((out / "autograder").glob("*.zip"))
                runs.append((result, path))
            except LabError as error:
                result.error = str(error)

        def run(result: Grade, path: Path) -> None:
            try:
                result.scores, result.possible = otter_run(autograders[result.lab], path)
            except LabError as error:
                result.error = str(error)

        with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
            for done in [pool.submit(run, result, path) for result, path in runs]:
                done.result()
    return grades


def write_csv(grades: list[Grade], target: Path) -> None:
    questions = sorted({q for g in grades for q in g.scores}, key=lambda q: (len(q), q))
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lab", "submission", *questions, "total", "possible", "error"])
        for g in grades:
            scores = [g.scores.get(q, "") for q in questions]
            total = sum(g.scores.values()) if not g.error else ""
            writer.writerow([g.student, g.lab, g.submission, *scores, total, g.possible, g.error])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.labs", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course repository")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write labs/ from solutions/")
    sub.add_parser("check", help="exit 1 when labs/ is stale or was edited by hand")
    grading = sub.add_parser("grade", help="grade a folder of submitted lab notebooks")
    grading.add_argument("submissions", type=Path)
    grading.add_argument("-o", "--output", type=Path, default=Path("grades.csv"))
    grading.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="notebooks graded at once (default: one per core)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            for path in generate(args.root):
                print(f"wrote {path.relative_to(args.root)}")
            return 0
        if args.command == "check":
            problems = stale(args.root)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("labs/ is generated: run `make labs`, never edit it by hand", file=sys.stderr)
                return 1
            print(f"labs/ is in sync with solutions/ ({len(solution_notebooks(args.root))} labs)")
            return 0
        if not args.submissions.is_dir():
            print(f"error: {args.submissions} is not a folder of submissions", file=sys.stderr)
            return 2
        if args.jobs is not None and args.jobs < 1:
            print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
            return 2
        grades = grade(args.root, args.submissions, args.jobs)
        write_csv(grades, args.output)
        failed = sum(bool(g.error) for g in grades)
        print(f"graded {len(grades) - failed} of {len(grades)} submissions -> {args.output}")
        for g in grades:
            print(f"  {g.student:>12}  {g.lab or '?':<32} {g.error or sum(g.scores.values())}")
        return 0
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
