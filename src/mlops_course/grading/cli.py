"""``python -m mlops_course.labs grade``: options, the reference check, progress, exit status."""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from mlops_course.grading.assign import LabError, otter_assign
from mlops_course.grading.feedback import write_feedback
from mlops_course.grading.queue import (
    Grade,
    Interrupted,
    failed_submissions,
    grade,
    lab_name,
    write_csv,
)
from mlops_course.grading.sandbox import Limits, available

NO_SANDBOX = (
    "error: no sandbox here (needs bwrap, setpriv and prlimit: apt-get install bubblewrap); "
    "--no-sandbox grades without one, running student code as you"
)
SANDBOXED = "bwrap (user nobody, own PID and network namespaces, read-only files, limits)"
UNSAFE = "WARNING: --no-sandbox: student code runs as you, unisolated, and can change any grade"


def add_grade_parser(sub) -> None:
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
    grading.add_argument(
        "--cell-timeout",
        type=int,
        default=Limits.cell_s,
        help="seconds one cell (or one question's tests) may run",
    )
    grading.add_argument(
        "--timeout", type=int, default=Limits.total_s, help="seconds one submission may run in all"
    )
    grading.add_argument(
        "--memory-gb",
        type=float,
        default=Limits.memory_gb,
        help="address space of one submission's kernel",
    )
    grading.add_argument(
        "--retry-failed",
        action="store_true",
        help="grade again only the rows of OUTPUT that have an error",
    )
    grading.add_argument(
        "--feedback",
        type=Path,
        metavar="DIR",
        help="also write one markdown feedback file per student into DIR",
    )
    grading.add_argument(
        "--no-reference-check", action="store_true", help="do not grade solutions/ first"
    )
    grading.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code as yourself, unisolated (unsafe)",
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def show(done: int, total: int, g: Grade, elapsed: float) -> None:
    result = g.error or f"{g.total:g}/{g.possible:g}"
    print(f"[{done}/{total}] {elapsed:5.0f} s  {g.student:<16} {g.lab:<30} {result}", flush=True)


def restore(g: Grade, row: dict[str, str]) -> None:
    """Fill ``g`` from its row of an earlier CSV (the rows ``--retry-failed`` keeps)."""
    fixed = {"student", "lab", "submission", "total", "possible", "error", "hints", "problems"}
    g.lab, g.error = row["lab"], row["error"]
    g.possible = float(row["possible"] or 0)
    g.scores = {q: float(v) for q, v in row.items() if q not in fixed and v}
    g.hints = [h for h in row["hints"].split(" | ") if h]
    g.problems = [p for p in row["problems"].split(" | ") if p]


def labs_of(submissions: Path) -> set[str]:
    names = set()
    for path in submissions.rglob("*.ipynb"):
        try:
            names.add(lab_name(path))
        except LabError:
            pass
    return names


def check_references(args, labs: set[str], isolation: str, limits: Limits, tmp: Path) -> str:
    """Grade the reference solutions of ``labs`` here; why one does not score full marks."""
    for lab in sorted(labs):
        (tmp / "refs" / lab).mkdir(parents=True)
        out = otter_assign(args.root / "solutions" / f"{lab}.ipynb", tmp / "assign" / lab)
        answered = out / "autograder" / f"{lab}.ipynb"  # the solution, with otter's metadata
        (tmp / "refs" / lab / answered.name).write_bytes(answered.read_bytes())
    graded = grade(args.root, tmp / "refs", args.jobs, isolation=isolation, limits=limits, warn=say)
    for g in graded:
        if g.error or g.total < g.possible:
            why = g.error or "; ".join(g.hints + g.problems)[:400]
            return f"solutions/{g.lab}.ipynb scores {g.total:g}/{g.possible:g} here: {why}"
    return ""


def run_grade(args) -> int:
    if not args.submissions.is_dir():
        say(f"error: {args.submissions} is not a folder of submissions")
        return 2
    if args.jobs is not None and args.jobs < 1:
        say(f"error: --jobs must be at least 1, got {args.jobs}")
        return 2
    isolation = "" if args.no_sandbox else available()
    if not isolation and not args.no_sandbox:
        say(NO_SANDBOX)
        return 2
    say(f"isolation: {SANDBOXED}" if isolation else UNSAFE)
    limits = Limits(cell_s=args.cell_timeout, total_s=args.timeout, memory_gb=args.memory_gb)
    only = None
    if args.retry_failed:
        if not args.output.exists():
            say(f"error: --retry-failed needs an earlier {args.output}")
            return 2
        only = failed_submissions(args.output)
        say(f"retrying {len(only)} failed submissions of {args.output}")
    if not args.no_reference_check:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                labs = labs_of(args.submissions)
                why = check_references(args, labs, isolation, limits, Path(tmp))
        except Interrupted:
            say("interrupted while grading the reference solutions: nothing graded, no CSV written")
            return 130
        if why:
            say(
                f"error: {why}\nfix this machine (or the solution) first; "
                "--no-reference-check grades anyway"
            )
            return 1
    try:
        grades = grade(
            args.root,
            args.submissions,
            args.jobs,
            isolation=isolation,
            limits=limits,
            only=only,
            progress=show,
            warn=say,
        )
        interrupted = False
    except Interrupted as stopped:
        grades, interrupted = stopped.grades, True
    if not grades:
        say(f"error: no *.ipynb under {args.submissions}: nothing to grade")
        return 1
    if only is not None:
        with args.output.open(newline="") as handle:
            previous = {row["submission"]: row for row in csv.DictReader(handle)}
        for g in grades:
            if g.submission not in only and g.submission in previous:
                restore(g, previous[g.submission])
    write_csv(grades, args.output)
    if args.feedback:
        files = write_feedback(grades, args.feedback)
        say(f"feedback: {len(files)} files in {args.feedback}")
    failed = sum(bool(g.error) for g in grades)
    print(f"graded {len(grades) - failed} of {len(grades)} submissions -> {args.output}")
    if interrupted:
        say("interrupted: the CSV holds what was graded; --retry-failed grades the rest")
        return 130
    if failed == len(grades):
        say("error: no submission could be graded (see the error column)")
        return 1
    return 0
