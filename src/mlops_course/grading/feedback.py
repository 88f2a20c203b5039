"""``grade --feedback DIR``: one markdown file per student with each question's score, the hints
of the failed test cases, the problems met and any error.

Student names come from folder and file names of the submissions, which students choose: the
file name is reduced to safe characters (with a hash of the original when it had to change), so
no name can leave ``DIR``, hide as a dot file or overwrite another student's file. Each file is
written atomically (a temporary file renamed over the target).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from mlops_course.grading.queue import Grade

UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def file_name(student: str) -> str:
    """A file name for ``student`` that stays inside the feedback folder and is unique."""
    safe = UNSAFE.sub("_", student).strip("_")[:80] or "student"
    if safe != student:
        safe += "-" + hashlib.sha256(student.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{safe}.md"


def one_line(text: str) -> str:
    return " ".join(text.split())


def report(student: str, grades: list[Grade]) -> str:
    """The markdown feedback of one student (every lab they submitted)."""
    lines = [f"# Feedback for {one_line(student)}", ""]
    for g in grades:
        lines += [f"## {g.lab or 'unknown lab'} (`{one_line(g.submission)}`)", ""]
        if g.error:
            lines += [f"**Not graded:** {one_line(g.error)}", ""]
            continue
        lines += [
            f"**Total: {g.total:g} / {g.possible:g}**",
            "",
            "| question | score |",
            "|---|---|",
        ]
        lines += [f"| {q} | {score:g} |" for q, score in g.scores.items()]
        lines.append("")
        if g.hints:
            lines += ["What the failed checks say:", ""]
            lines += [f"- {one_line(hint)}" for hint in g.hints] + [""]
        if g.problems:
            lines += ["Problems met while running the notebook:", ""]
            lines += [f"- {one_line(problem)}" for problem in g.problems] + [""]
    return "\n".join(lines)


def write_feedback(grades: list[Grade], folder: Path) -> list[Path]:
    """Write one feedback file per student into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Grade]] = {}
    for g in grades:
        by_student.setdefault(g.student, []).append(g)
    written: list[Path] = []
    for student, own in sorted(by_student.items()):
        target = folder / file_name(student)
        if target in written:  # a name crafted to match another's: the full hash then
            digest = hashlib.sha256(student.encode("utf-8", "replace")).hexdigest()
            target = folder / f"{target.stem}-{digest}.md"
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=".feedback-", suffix=".tmp", delete=False
        )
        with handle:
            handle.write(report(student, own))
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, target)  # replaces a link planted there, never follows it
        written.append(target)
    return written
