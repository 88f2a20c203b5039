"""Wrong-but-plausible answers lose points (issue #17): a corpus per lab, graded in one run.

Each entry replaces the answer cell that defines a name with a wrong answer that passed the
checks before they were tightened; the submission must lose that question and keep the others.
"""

import json
from pathlib import Path

import nbformat
import pytest
from paths import ROOT

from mlops_course.grading import assign, queue, sandbox

LSTSQ_DESCENT = """
def gradient_descent(X, y, learning_rate, n_steps):
    theta = np.linalg.lstsq(X, y, rcond=None)[0]
    start, end = np.mean(y**2) / 2, np.sum((X @ theta - y) ** 2) / (2 * len(y))
    return theta, np.geomspace(start, end, n_steps + 1)  # an invented, falling history
"""
COPIED_SKLEARN = """
def scale_train_test(X_train, X_test):
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    return (X_train - mean) / std, (X_test - mean) / std, mean, std


def to_original_units(theta, mean, std):
    coef = theta[1:] / std
    return theta[0] - coef @ mean, coef


learning_rate_q4, n_steps_q4 = 0.45, 3000
_fit = LinearRegression().fit(Xd_train, yd_train)
intercept_q4, coef_q4 = _fit.intercept_, _fit.coef_
theta_q4 = np.zeros(Xd_train.shape[1] + 1)
"""
WRONG = {  # lab: {submission: (defines, code, question that must be lost)}
    "01_linear_regression_lab": {
        "lstsq_descent": ("gradient_descent", LSTSQ_DESCENT, "q3"),
        "copied_sklearn": ("scale_train_test", COPIED_SKLEARN, "q4"),
    },
}


def replacing(nb, defines: str, code: str):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    next(c for c in nb.cells if f"def {defines}(" in c.source).source = code
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("lab", sorted(WRONG))
def test_wrong_answers_lose_their_question(lab, tmp_path: Path):
    solution = ROOT / "solutions" / f"{lab}.ipynb"
    solved = nbformat.read(
        assign.otter_assign(solution, tmp_path / "dist") / "autograder" / solution.name,
        as_version=4,
    )
    for name, (defines, code, _) in WRONG[lab].items():
        (tmp_path / "subs" / name).mkdir(parents=True)
        nbformat.write(replacing(solved, defines, code), tmp_path / "subs" / name / solution.name)
    grades = queue.grade(ROOT, tmp_path / "subs", jobs=2, isolation=sandbox.available())
    full = {q.name: q.possible for q in assign.lab_questions(solution)}
    for g in grades:
        lost = {q for q, score in g.scores.items() if score < full[q]}
        assert not g.error and lost == {WRONG[lab][g.student][2]}, (g.student, g.scores)
