"""Misnamed submissions are graded as the lab of their content, with a clear warning: a file
named after another lab (top level or in a student's folder), or a top-level notebook named
after its own lab (no student name)."""

from pathlib import Path

import pytest
from paths import ROOT

from mlops_course import labs
from mlops_course.grading import queue, sandbox

LABS = [s.stem for s in labs.solution_notebooks(ROOT)]
ONE, TWO = "01_linear_regression_lab", "02_logistic_regression_lab"


@pytest.mark.parametrize(
    ("submission", "lab", "warning"),
    [
        (f"{TWO}.ipynb", ONE, f"is named after {TWO} but is a notebook of {ONE}"),
        (f"ana_{TWO}.ipynb", ONE, f"is named after {TWO} but is a notebook of {ONE}"),
        ("02_lab.ipynb", ONE, f"is named after {TWO} but is a notebook of {ONE}"),
        (f"ana/{TWO}.ipynb", ONE, f"is named after {TWO} but is a notebook of {ONE}"),
        (f"{ONE}.ipynb", ONE, "top-level notebook named after its lab"),
        ("ana/homework.ipynb", ONE, f"is a notebook of {ONE}: graded as {ONE}"),
        (f"ana/{ONE}.ipynb", ONE, ""),
        ("ana.ipynb", ONE, ""),
        ("ana_lab1.ipynb", ONE, ""),
    ],
)
def test_naming_problem(submission, lab, warning):
    found = queue.naming_problem(submission, lab, LABS)
    assert (warning in found) if warning else found == "", found


@pytest.mark.slow
def test_grade_warns_about_a_notebook_of_another_lab(tmp_path: Path):
    for lab, target in ((ONE, f"{TWO}.ipynb"), (TWO, f"bo/{ONE}.ipynb")):
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / target).write_text((ROOT / "labs" / f"{lab}.ipynb").read_text())
    warnings: list[str] = []
    grades = queue.grade(ROOT, tmp_path, isolation=sandbox.available(), warn=warnings.append)
    assert {g.submission: g.lab for g in grades} == {f"{TWO}.ipynb": ONE, f"bo/{ONE}.ipynb": TWO}
    assert all(not g.error for g in grades)
    assert sorted(warnings) == [
        f"{TWO}.ipynb is named after {TWO} but is a notebook of {ONE}: graded as {ONE}",
        f"bo/{ONE}.ipynb is named after {ONE} but is a notebook of {TWO}: graded as {TWO}",
    ]
