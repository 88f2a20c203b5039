"""Each question's tests run where its ``grader.check`` cell stood, as in the student's own run:
an answer changed by a later cell keeps the points it had at its check."""

import json
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

from mlops_course.grading import assign, kernel, queue, sandbox

LAB = "01_linear_regression_lab"
OVERWRITE = "def cost_multi(Theta, A, Y):\n    return -1.0  # changed after its check\n"


def notebook(tmp_path: Path, sources: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    return tmp_path / "nb.ipynb"


def test_check_positions(tmp_path: Path):
    path = notebook(
        tmp_path,
        ["a = 1", 'grader.check("q1")', "b = 2", "c = 3", 'grader.check("q3")', "d = 4"],
    )
    # q1 after cell 0; q2 (no check cell) with q3, after cell 2; q4 (none, none later) at the end
    assert kernel.check_positions(path, ["q1", "q2", "q3", "q4"]) == {
        "q1": 0,
        "q2": 2,
        "q3": 2,
        "q4": None,
    }


@pytest.mark.slow
def test_an_answer_changed_after_its_check_keeps_its_points(tmp_path: Path):
    solution = ROOT / "solutions" / f"{LAB}.ipynb"
    solved = nbformat.read(
        assign.otter_assign(solution, tmp_path / "dist") / "autograder" / solution.name,
        as_version=4,
    )
    solved = nbformat.from_dict(json.loads(json.dumps(solved)))
    check = next(i for i, c in enumerate(solved.cells) if c.source == 'grader.check("q1")')
    solved.cells.insert(check + 1, nbformat.v4.new_code_cell(OVERWRITE))
    (tmp_path / "subs" / "ana").mkdir(parents=True)
    nbformat.write(solved, tmp_path / "subs" / "ana" / solution.name)
    [g] = queue.grade(ROOT, tmp_path / "subs", isolation=sandbox.available())
    assert not g.error and g.scores["q1"] == 1, g
