"""Wrong-but-plausible answers lose points (issue #17): a corpus per lab, graded in one run.

Each entry edits the answer cell that defines a name into a wrong answer (the whole cell, or
``(old, new)`` replacements in it); the ones named in the issue passed the checks before they were
tightened. The submission must lose that question and keep the others.
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
SHUFFLE_ONCE = (
    "    for _ in range(epochs):\n        order = rng.permutation(len(y))\n",
    "    order = rng.permutation(len(y))\n    for _ in range(epochs):\n",
)
FLOAT_PRODUCT = (
    (
        "    s_y = np.abs(acc * s_x * s_w).max() / 127\n",
        "    s_y = np.abs(x @ W).max() / 127\n",
    ),
    ("np.round(acc * (s_x * s_w / s_y))", "np.round(x @ W / s_y)"),
)
NO_CLIP = "np.clip(np.round(x / scale) + zero_point, 0, 255)", "(np.round(x / scale) + zero_point)"
INPUT_NAME = "name = session.get_inputs()[0].name"
ONE_FILE = "(folder, file_name, ", '(folder, "model.onnx", '
DROP = "100 * (accuracy(fp32_onnx) - accuracy(int8_onnx))"
FRACTION = "accuracy(fp32_onnx) - accuracy(int8_onnx)"
TOP1 = "top1 = float(np.mean([bool(ids) and ids[0] == label for ids, label in pairs]))"
PERCENT = ("top1 = float(", "top1 = 100 * float("), ("in_top_k = float(", "in_top_k = 100 * float(")
WRONG = {  # lab: {submission: (defines, whole cell or (old, new) pairs, question that is lost)}
    "01_linear_regression_lab": {
        "lstsq_descent": ("gradient_descent", LSTSQ_DESCENT, "q3"),
        "copied_sklearn": ("scale_train_test", COPIED_SKLEARN, "q4"),
    },
    "03_neural_networks_lab": {
        "never_shuffles": ("sgd", [("rng.permutation(len(y))", "np.arange(len(y))")], "q4"),
        "last_batch_loss": ("sgd", [("np.mean(losses)", "losses[-1]")], "q4"),
        "shuffles_once": ("sgd", [SHUFFLE_ONCE], "q4"),
    },
    "04_quantization_math_lab": {
        "no_clip": ("quantize_uint8", [NO_CLIP], "q2"),
        "float_product": ("int8_linear", FLOAT_PRODUCT, "q3"),
    },
    "05_train_and_export_lab": {
        "hard_coded_input": ("parity", [(INPUT_NAME, 'name = "images"')], "q1"),
        "loose_tolerance": ("parity", [("TOLERANCE = 1e-5", "TOLERANCE = 1e-3")], "q1"),
        "card_of_one_file": ("wine_card", [ONE_FILE], "q2"),
        "all_rows_counted": ("wine_card", [('"n_train": len(x_train)', '"n_train": 178')], "q2"),
        "zipmap_kept": ("classifier_to_onnx", [('"zipmap": False', '"zipmap": True')], "q3"),
        "fixed_batch": ("classifier_to_onnx", [("[None, 13]", "[45, 13]")], "q3"),
    },
    "06_optimize_models_lab": {
        "typed_drop": ("quantize_int8", [(DROP, "0.0")], "q2"),
        "drop_as_fraction": ("quantize_int8", [(DROP, FRACTION)], "q2"),
    },
    "12_edge_tpu_lab": {
        "typed_top1": ("top_classes", [(TOP1, "top1 = 1.0")], "q3"),
        "percent": ("top_classes", PERCENT, "q3"),
    },
}


def replacing(nb, defines: str, edit):
    """``nb`` with the cell defining ``defines`` replaced by ``edit`` or edited by its pairs."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cell = next(c for c in nb.cells if f"def {defines}(" in c.source)
    if isinstance(edit, str):
        cell.source = edit
    for old, new in [] if isinstance(edit, str) else edit:
        assert old in cell.source, f"{defines}: {old!r} not in the solution any more"
        cell.source = cell.source.replace(old, new)
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
