"""mlops_course.evaluate: batched predictions, metrics, and tensor details of each runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlops_course import evaluate
from mlops_course.runtime import load_runner

COMMITTED = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"


class _Doubler:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        return 2 * x


def test_predict_batched_covers_every_row_in_order():
    runner = _Doubler()
    x = np.arange(10.0)[:, None]
    np.testing.assert_array_equal(evaluate.predict_batched(runner, x, batch_size=4), 2 * x)
    assert runner.batches == [4, 4, 2]


def test_classification_metrics_is_argmax_accuracy():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert evaluate.classification_metrics(probabilities, np.array([0, 1, 1])) == {
        "accuracy": 0.666667
    }


def test_regression_metrics_of_a_known_case():
    metrics = evaluate.regression_metrics(np.array([[1.0], [2.0], [5.0]]), np.array([1, 3, 5]))
    assert metrics == {"r2": 0.875, "mae": 0.333333, "rmse": 0.57735}


@pytest.mark.parametrize(
    ("name", "dtype", "quantized"),
    [
        ("model.keras", "float32", False),
        ("model.onnx", "float32", False),
        ("model_int8.tflite", "int8", True),
        ("model_fp32.tflite", "float32", False),
    ],
)
def test_tensor_details_of_the_committed_files(name, dtype, quantized):
    runner = load_runner(COMMITTED / name)
    for which in ("input", "output"):
        details = evaluate.tensor_details(runner, which)
        assert details["dtype"] == dtype and ("scale" in details) == quantized
    assert evaluate.tensor_details(runner, "input")["shape"] == [None, 8, 8, 1]
    assert evaluate.tensor_details(runner, "output")["shape"] == [None, 10]


def test_tensor_details_refuses_an_unknown_side():
    with pytest.raises(ValueError, match="'input' or 'output'"):
        evaluate.tensor_details(load_runner(COMMITTED / "model.onnx"), "middle")
