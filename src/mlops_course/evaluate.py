"""Measure exported models: batched predictions, accuracy / R², MAE, RMSE, and what a runner's
input and output tensors are (name, shape, dtype, quantization) for a model card.

Introduced in notebooks/05_train_and_export.ipynb.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlops_course.runtime import ONNX_DTYPES, KerasRunner, OnnxRunner


def predict_batched(runner: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predictions for ``x`` in batches (a runner from :mod:`mlops_course.runtime`)."""
    return np.concatenate(
        [runner.predict(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )


def classification_metrics(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy of the arg-max class, rounded to 6 digits. Introduced in 05_train_and_export."""
    return {"accuracy": round(float(np.mean(probabilities.argmax(axis=1) == labels)), 6)}


def regression_metrics(predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """R², MAE and RMSE, rounded to 6 digits. Introduced in 05_train_and_export."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    y, p = np.asarray(targets, np.float64).ravel(), np.asarray(predictions, np.float64).ravel()
    return {
        "r2": round(float(r2_score(y, p)), 6),
        "mae": round(float(mean_absolute_error(y, p)), 6),
        "rmse": round(float(root_mean_squared_error(y, p)), 6),
    }


def tensor_details(runner: Any, which: str) -> dict[str, Any]:
    """Name, shape (null = any batch), dtype and, for integer TFLite tensors, scale and zero
    point of a runner's ``"input"`` or ``"output"``. Introduced in 05_train_and_export.
    """
    if which not in ("input", "output"):
        raise ValueError(f"which must be 'input' or 'output', got {which!r}")
    if isinstance(runner, KerasRunner):
        tensor = runner.model.inputs[0] if which == "input" else runner.model.outputs[0]
        name = runner.input_name if which == "input" else runner.output_name
        return {"name": name, "shape": list(tensor.shape), "dtype": np.dtype(tensor.dtype).name}
    if isinstance(runner, OnnxRunner):
        session = runner.session
        meta = (session.get_inputs() if which == "input" else session.get_outputs())[0]
        shape = [d if isinstance(d, int) else None for d in meta.shape]
        return {"name": meta.name, "shape": shape, "dtype": ONNX_DTYPES[meta.type]}
    interpreter = runner.interpreter
    get = interpreter.get_input_details if which == "input" else interpreter.get_output_details
    details = get()[0]
    shape = [None if d < 0 else int(d) for d in details["shape_signature"]]
    entry = {"name": details["name"], "shape": shape, "dtype": np.dtype(details["dtype"]).name}
    if np.dtype(details["dtype"]).kind in "iu":
        scale, zero_point = details["quantization"]
        entry.update(scale=float(scale), zero_point=int(zero_point))
    return entry
