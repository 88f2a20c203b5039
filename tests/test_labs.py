"""Labs: generated from solutions/ without leaking answers, and their checks can fail.

For every lab: the generated (unfilled) notebook scores zero on every question, the solution
scores full marks, and a solution with one answer removed loses exactly that question.
"""

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

from mlops_course import labs
from mlops_course.grading import queue, sandbox

SOLUTIONS = labs.solution_notebooks(ROOT)


def questions(student: dict) -> dict:
    return student["metadata"]["otter"]["tests"]


@pytest.fixture(scope="module", params=SOLUTIONS, ids=lambda p: p.stem)
def lab(request, tmp_path_factory) -> dict:
    solution: Path = request.param
    out = labs.otter_assign(solution, tmp_path_factory.mktemp("assign") / "dist")
    student = json.loads((out / "student" / solution.name).read_text())
    answers = nbformat.read(out / "autograder" / solution.name, as_version=4)
    return {"solution": solution, "student": student, "answers": answers}


@pytest.mark.slow
def test_committed_lab_is_the_generated_one(lab):
    committed = json.loads((ROOT / "labs" / lab["solution"].name).read_text())
    assert [c["source"] for c in committed["cells"]] == [
        c["source"] for c in lab["student"]["cells"]
    ]


def test_no_solution_or_hidden_test_leaks(lab):
    text = json.dumps(lab["student"])
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    cases = [
        case for q in questions(lab["student"]).values() for s in q["suites"] for case in s["cases"]
    ]
    assert cases and not any(case["hidden"] for case in cases)
    assert not any(c.get("outputs") for c in lab["student"]["cells"]), "outputs must be cleared"


def test_every_question_has_a_visible_check_with_a_hint(lab):
    sources = ["".join(c["source"]) for c in lab["student"]["cells"]]
    for name, question in questions(lab["student"]).items():
        assert f'grader.check("{name}")' in sources
        cases = [case for suite in question["suites"] for case in suite["cases"]]
        assert all(case.get("failure_message") for case in cases), f"{name}: a case has no hint"
    assert len(questions(lab["student"])) >= 3, "at least three exercises"
    stars = [s for s in sources if re.search(r"★", s)]
    assert len(stars) >= 3, "exercises are marked ★ to ★★★"


def test_assignment_name_matches_the_file(lab):
    assert lab["student"]["metadata"]["otter"]["assignment_name"] == lab["solution"].stem


def remove_answer(answers, student: dict, question: str):
    """The solution notebook with the answer cells of ``question`` replaced by the student stub."""
    broken = nbformat.from_dict(json.loads(json.dumps(answers)))
    owner = None
    for index in reversed(range(len(broken.cells))):
        check = re.search(r'grader\.check\("(\w+)"\)', broken.cells[index].source)
        owner = check[1] if check else owner
        if owner == question and "otter_answer_cell" in student["cells"][index]["metadata"].get(
            "tags", []
        ):
            broken.cells[index].source = "".join(student["cells"][index]["source"])
    return broken


@pytest.mark.slow
def test_checks_fail_unfilled_pass_solved_and_catch_one_broken_answer(lab, tmp_path: Path):
    name = lab["solution"].name
    first = next(iter(questions(lab["student"])))
    for who in ("unfilled", "solved", "broken"):
        (tmp_path / who).mkdir()
    (tmp_path / "unfilled" / name).write_text(json.dumps(lab["student"]))
    nbformat.write(lab["answers"], tmp_path / "solved" / name)
    nbformat.write(remove_answer(lab["answers"], lab["student"], first), tmp_path / "broken" / name)

    grades = {g.student: g for g in queue.grade(ROOT, tmp_path, isolation=sandbox.available())}

    assert all(not g.error for g in grades.values()), {g.student: g.error for g in grades.values()}
    possible = grades["solved"].possible
    assert sum(grades["solved"].scores.values()) == possible > 0
    assert sum(grades["unfilled"].scores.values()) == 0
    lost = {q for q, score in grades["broken"].scores.items() if score < grades["solved"].scores[q]}
    assert lost == {first}


@pytest.mark.slow
@pytest.mark.skipif(not SOLUTIONS, reason="no lab in solutions/ yet")
def test_check_reports_a_hand_edited_lab(tmp_path: Path):
    solution = min(SOLUTIONS, key=lambda p: p.stat().st_size)
    (tmp_path / "solutions").mkdir()
    shutil.copy(solution, tmp_path / "solutions")
    assert labs.stale(tmp_path) == [f"labs/{solution.name} is missing"]
    labs.generate(tmp_path)
    assert labs.stale(tmp_path) == []
    lab = tmp_path / "labs" / solution.name
    lab.write_text(lab.read_text().replace("grader.check", "grader .check", 1))
    assert labs.stale(tmp_path) == [
        f"labs/{solution.name} differs from what solutions/{solution.name} generates"
    ]
    (tmp_path / "labs" / "99_orphan_lab.ipynb").write_text("{}")
    assert "labs/99_orphan_lab.ipynb has no solutions/99_orphan_lab.ipynb" in labs.stale(tmp_path)


def test_grade_reports_bad_submissions_without_crashing(tmp_path: Path):
    (tmp_path / "ana").mkdir()
    (tmp_path / "ana" / "broken.ipynb").write_text("{not json")
    (tmp_path / "bob.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    grades = {
        g.student: g.error for g in queue.grade(ROOT, tmp_path, isolation=sandbox.available())
    }
    assert grades == {
        "ana": "not a readable notebook (invalid JSON)",
        "bob": "not a lab notebook (no otter metadata)",
    }


def test_grade_cli_refuses_bad_arguments_and_writes_the_csv(tmp_path: Path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bob.ipynb").write_text("{not json")
    csv_path = tmp_path / "grades.csv"
    grade = ["--root", str(ROOT), "grade", "-o", str(csv_path)]
    assert labs.main([*grade, str(tmp_path / "missing")]) == 2
    assert "is not a folder of submissions" in capsys.readouterr().err
    assert labs.main([*grade, "--jobs", "0", str(tmp_path / "in")]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
    if not sandbox.available():
        assert labs.main([*grade, str(tmp_path / "in")]) == 2
        assert "no sandbox here" in capsys.readouterr().err
        grade.append("--no-sandbox")
    assert labs.main([*grade, "--jobs", "2", str(tmp_path / "in")]) == 1
    assert "graded 0 of 1 submissions" in capsys.readouterr().out
    assert "not a readable notebook" in csv_path.read_text()
