"""``grade --feedback DIR``: one markdown file per student, written atomically, whose names no
student folder name (hostile input) can move out of DIR or onto another student's file."""

import json
import os
from pathlib import Path

from paths import ROOT

from mlops_course import labs
from mlops_course.grading import feedback, sandbox
from mlops_course.grading.queue import Grade

HOSTILE = [
    "ana",
    "../../escape",
    "..",
    ".bashrc",
    "-rf",
    "a/b",
    "con\nnew line",
    "ünïcode",
    "x" * 300,
    "",
    "bob",
    "bob!",
]


def graded(student: str) -> Grade:
    return Grade(
        student=student,
        submission=f"{student}/01_linear_regression_lab.ipynb",
        lab="01_linear_regression_lab",
        scores={"q1": 1.0, "q2": 0.0},
        possible=3.0,
        hints=["q2: cross_entropy must equal sklearn's log_loss"],
        problems=["code cell 4: NameError: name 'np' is not defined"],
    )


def test_feedback_names_stay_inside_and_never_collide(tmp_path: Path):
    outside = tmp_path / "outside.md"
    out = tmp_path / "feedback"
    out.mkdir()
    crafted = "bob-" + feedback.file_name("bob!").split("-")[1][:-3]  # matches bob!'s file
    (out / feedback.file_name("ana")).symlink_to(outside)  # planted where ana's file goes
    grades = [graded(s) for s in [*HOSTILE, crafted]]
    written = feedback.write_feedback(grades, out)
    assert len(set(written)) == len(HOSTILE) + 1, "one file per student, none overwritten"
    for path in written:
        assert path.parent == out and path.name.endswith(".md") and not path.name.startswith(".")
        assert len(path.name) < 120 and path.is_file() and not path.is_symlink()
    assert sorted(out.iterdir()) == sorted(written), "no temporary file left behind"
    assert not outside.exists(), "a planted link was followed"
    assert not (tmp_path / "escape.md").exists() and not any(tmp_path.parent.glob("*.md"))


def test_feedback_holds_scores_hints_problems_and_errors(tmp_path: Path):
    failed = Grade(student="ana", submission="ana/x.ipynb", error="not a lab notebook")
    written = feedback.write_feedback([graded("ana"), failed], tmp_path)
    assert [p.name for p in written] == ["ana.md"]
    text = written[0].read_text()
    assert "**Total: 1 / 3**" in text and "| q2 | 0 |" in text
    assert "cross_entropy must equal sklearn's log_loss" in text
    assert "NameError: name 'np' is not defined" in text
    assert "**Not graded:** not a lab notebook" in text


def test_grade_cli_writes_feedback(tmp_path: Path, capsys):
    (tmp_path / "in" / "..hidden").mkdir(parents=True)
    (tmp_path / "in" / "..hidden" / "lab.ipynb").write_text("{not json")
    (tmp_path / "in" / "bob.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    grade = ["--root", str(ROOT), "grade", "-o", str(tmp_path / "grades.csv")]
    grade += ["--feedback", str(tmp_path / "fb"), str(tmp_path / "in")]
    if not sandbox.available():
        grade.append("--no-sandbox")
    assert labs.main(grade) == 1
    assert "feedback: 2 files in" in capsys.readouterr().err
    files = sorted(os.listdir(tmp_path / "fb"))
    assert len(files) == 2 and files[0] == "bob.md" and files[1].startswith("hidden-")
    assert "not a lab notebook" in (tmp_path / "fb" / "bob.md").read_text()
    assert "not a readable notebook" in (tmp_path / "fb" / files[1]).read_text()
