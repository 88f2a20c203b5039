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

COPIED_SKLEARN = """
def to_original_units(Theta, mean, std):
    coefs = Theta[1:] / std[:, None]
    return Theta[0] - mean @ coefs, coefs


mean_q4, std_q4 = X.mean(axis=0), X.std(axis=0)
learning_rate_q4, n_steps_q4 = 0.8, 200
_fit = LinearRegression().fit(X, Y)
intercepts_q4, coefs_q4 = _fit.intercept_, _fit.coef_.T
Theta_q4 = np.zeros((4, 3))
"""
ONE_SIDED = (
    ("theta[index] = saved - eps\n            minus", "theta[index] = saved\n            minus"),
    ("(plus - minus) / (2 * eps)", "(plus - minus) / eps"),
)
CHOSEN_ON_TEST = (
    ("np.sort(p_train[y_train == 1])", "np.sort(p_test[y_test == 1])"),
    ("recall_precision(p_train, y_train, t)", "recall_precision(p_test, y_test, t)"),
)
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
RECALL = "np.mean(predictions[labels == d] == d)"
PRECISION = "np.mean(labels[predictions == d] == d)"  # divides by how often d is predicted
SAME_FOR_ALL = "np.mean(predictions == labels)"  # the overall accuracy, ten times
UNTRAINED = "train([", "tf.keras.Sequential([tf.keras.Input((8, 8, 1)), "  # never fitted
WRONG = {  # lab: {submission: (defines, whole cell or (old, new) pairs, question that is lost)}
    "01_linear_regression_lab": {
        "mean_over_entries": (
            "cost_multi",
            [("np.sum(residual**2) / (2 * len(Y))", "np.mean(residual**2) / 2")],
            "q1",
        ),
        "forward_difference": (
            "numerical_gradient",
            [("(f(Theta + step) - f(Theta - step)) / (2", "(f(Theta + step) - f(Theta)) / (1")],
            "q2",
        ),
        "penalised_intercept": ("ridge", [("penalty[0, 0] = 0.0", "pass")], "q3"),
        "copied_sklearn": ("to_original_units", COPIED_SKLEARN, "q4"),
    },
    "02_logistic_regression_lab": {
        "log_of_sigmoid": (
            "log_sigmoid",
            [("np.minimum(z, 0.0) - np.log1p(np.exp(-np.abs(z)))", "np.log(1 / (1 + np.exp(-z)))")],
            "q1",
        ),
        "weights_every_example": (
            "weighted_cross_entropy",
            [("-np.mean(w * y", "-w * np.mean(y")],
            "q2",
        ),
        "unweighted_training": (
            "train_weighted",
            [(" * (w * y + 1 - y)) / len(y)", ") / len(y)")],
            "q3",
        ),
        "typed_threshold": (
            "recall_precision",
            [("threshold_q4 = max(", "threshold_q4 = 0.05 or max(")],
            "q4",
        ),
        "chosen_on_test": ("recall_precision", CHOSEN_ON_TEST, "q4"),
    },
    "03_neural_networks_lab": {
        "sigmoid_hidden": (
            "forward_tanh",
            [
                (
                    'a1 = np.tanh(X @ params["W1"].T + params["b1"])',
                    'a1 = 1 / (1 + np.exp(-X @ params["W1"].T - params["b1"]))',
                )
            ],
            "q1",
        ),
        "one_sided_difference": ("numerical_gradient", ONE_SIDED, "q2"),
        "sigmoid_derivative": ("gradients_tanh", [("(1.0 - a1**2)", "a1 * (1.0 - a1)")], "q3"),
        "returns_reference": (
            "gradients_tanh",
            [("    m = len(y)\n", "    return probes.tanh_gradients(params, X, y)\n")],
            "q3",
        ),
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
        "precision": ("per_digit_accuracy", [(RECALL, PRECISION)], "q1"),
        "overall_ten_times": ("per_digit_accuracy", [(RECALL, SAME_FOR_ALL)], "q1"),
        "keeps_leaky": ("build_compatible", [("layers.ReLU()", "layers.LeakyReLU(0.1)")], "q3"),
        "untrained": ("build_compatible", [UNTRAINED], "q3"),
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
