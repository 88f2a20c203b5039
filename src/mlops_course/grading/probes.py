"""Probes for hidden lab tests that check how an answer was computed, not only its value.

``watching`` records the calls a student's function makes to a module (lab 03: the batches
``sgd`` trains on and the losses it averages); ``tanh_loss`` and ``tanh_gradients`` are the
reference for lab 03's tanh network, derived from ``neural_net``'s tested sigmoid network;
``ruined_by_int8`` and ``rerun`` run a student's measurement cells again on a model that int8
quantization ruins (lab 06: a typed-in ``accuracy_drop`` of 0.0 stays 0.0, a measured one does
not).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mlops_course import neural_net as nn


class Recorder:
    """Stands in for a module: calls go through to it and are recorded as (name, args, result)."""

    def __init__(self, module: Any):
        self.module, self.calls = module, []

    def __getattr__(self, name: str):
        target = getattr(self.module, name)
        if not callable(target):
            return target

        def recorded(*args, **kwargs):
            result = target(*args, **kwargs)
            self.calls.append((name, args, result))
            return result

        return recorded


@contextlib.contextmanager
def watching(function, name: str) -> Iterator[list]:
    """While inside, the global ``name`` that ``function`` uses records its calls (yielded)."""
    namespace = function.__globals__
    module = namespace[name]
    recorder = Recorder(module)
    namespace[name] = recorder
    try:
        yield recorder.calls
    finally:
        namespace[name] = module


def as_sigmoid(params: dict) -> dict:
    """The tanh network ``params`` as ``neural_net``'s sigmoid network with the same outputs:
    tanh(z) = 2σ(2z) − 1, so the hidden layer doubles and the output layer absorbs the − 1."""
    W2 = np.asarray(params["W2"], dtype=float)
    return {
        "W1": 2.0 * np.asarray(params["W1"], dtype=float),
        "b1": 2.0 * np.asarray(params["b1"], dtype=float),
        "W2": 2.0 * W2,
        "b2": np.asarray(params["b2"], dtype=float) - W2.sum(axis=1),
    }


def tanh_loss(params: dict, X: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy of the two-layer network with a tanh hidden layer (lab 03)."""
    return nn.loss(as_sigmoid(params), X, y)


def tanh_gradients(params: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """Exact gradients of :func:`tanh_loss`: ``nn.backward`` on :func:`as_sigmoid`, chained back."""
    g = nn.backward(as_sigmoid(params), X, y)
    return {
        "W1": 2 * g["W1"],
        "b1": 2 * g["b1"],
        "W2": 2 * g["W2"] - g["b2"][:, None],
        "b2": g["b2"],
    }


def ruined_by_int8(x_train: np.ndarray, y_train: np.ndarray, path: Path) -> Path:
    """A float32 ONNX classifier of 8x8 digits (input ``images``) that is accurate in float32
    and useless after int8 weight quantization: pixel (0, 0), blank in every digit, gets a
    weight of 1000 per class, so one int8 step (1000 / 127) zeroes every other weight."""
    import onnx
    from onnx import helper, numpy_helper
    from sklearn.linear_model import LogisticRegression

    flat = x_train.reshape(len(x_train), -1)
    fit = LogisticRegression(max_iter=500).fit(flat, y_train)
    weights = fit.coef_.T.astype(np.float32)
    weights[0] = 1000.0
    nodes = [
        helper.make_node("Reshape", ["images", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["logits"]),
        helper.make_node("Add", ["logits", "b"], ["scores"]),
        helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1),
    ]
    constants = [
        numpy_helper.from_array(np.array([-1, flat.shape[1]]), "shape"),
        numpy_helper.from_array(weights, "W"),
        numpy_helper.from_array(fit.intercept_.astype(np.float32), "b"),
    ]
    floats = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "ruined_by_int8",
        [helper.make_tensor_value_info("images", floats, [None, *x_train.shape[1:]])],
        [helper.make_tensor_value_info("probabilities", floats, [None, weights.shape[1]])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    return Path(path)


def rerun(history: list[str], first: str, last: str, namespace: dict) -> dict:
    """Run again, in ``namespace`` (a dict, changed in place), the cells of ``history``
    (IPython's ``In``) from the last one matching ``first`` up to the last one matching ``last``
    (regular expressions, per line); their output is discarded."""
    ends = [i for i, cell in enumerate(history) if re.search(last, cell, re.M)]
    if not ends:
        raise LookupError(f"no cell matches {last!r}")
    starts = [i for i in range(ends[-1] + 1) if re.search(first, history[i], re.M)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in history[(starts or ends)[-1] : ends[-1] + 1]:
            exec(cell, namespace)
    return namespace
