"""Labs: generate the student notebooks from solutions/ and grade submissions, with otter-grader.

Each lab is written once, in otter's assignment format, as ``solutions/NN_topic_lab.ipynb``.
``otter assign`` turns it into a student notebook (solutions replaced by ``...``, outputs and
hidden tests removed) and an autograder; this module only orchestrates that:

    python -m mlops_course.labs generate            # solutions/ -> labs/        (make labs)
    python -m mlops_course.labs check               # labs/ up to date?          (make labs-check)
    python -m mlops_course.labs grade SUBMISSIONS -o grades.csv

Why orchestrate at all: otter writes a fresh random id into the cells it adds, so ``generate``
gives them stable ids (otherwise ``check`` could never say "unchanged"). ``grade`` is
``mlops_course.grading``: each submission in its own sandboxed kernel, tests sent only after the
submission's cells ran, a time limit per cell and per question.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

from mlops_course.grading.assign import LabError, otter_assign, solution_notebooks
from mlops_course.grading.cli import add_grade_parser, run_grade


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.labs", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course repository")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write labs/ from solutions/")
    sub.add_parser("check", help="exit 1 when labs/ is stale or was edited by hand")
    add_grade_parser(sub)
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
        return run_grade(args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
