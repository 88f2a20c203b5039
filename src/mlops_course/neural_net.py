"""A two-layer neural network from scratch in NumPy: hθ(x) = softmax(θ⁽²⁾ σ(θ⁽¹⁾x)).

The parameters are a plain dict of arrays, shaped like the math (one row per unit):

- ``W1`` (n_hidden, n_inputs) and ``b1`` (n_hidden,): the hidden layer, sigmoid activation
- ``W2`` (n_outputs, n_hidden) and ``b2`` (n_outputs,): the output layer, softmax activation

A batch ``X`` holds one example per row, so a layer computes ``X @ W.T + b``. Keras stores the
kernel transposed, (n_inputs, n_hidden); the parameter count is the same.

Introduced in notebooks/03_neural_networks.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mlops_course.regression import sigmoid

Params = dict[str, np.ndarray]
GradFn = Callable[[Params, np.ndarray, np.ndarray], Params]

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: subtract the maximum before exponentiating.

    exp(z − max z) is at most 1, so large inputs (e.g. 1000) cannot overflow.
    Introduced in notebooks/03_neural_networks.ipynb.
    """
    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(z)) computed as z − logsumexp(z), without taking the log of a tiny number.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def init_params(n_inputs: int, n_hidden: int, n_outputs: int, seed: int) -> Params:
    """Glorot-uniform weights (Keras's default) and zero biases, drawn from ``default_rng(seed)``.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    if min(n_inputs, n_hidden, n_outputs) < 1:
        raise ValueError(
            f"layer sizes must be positive, got {n_inputs=}, {n_hidden=}, {n_outputs=}"
        )
    rng = np.random.default_rng(seed)

    def glorot(fan_out: int, fan_in: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_out, fan_in))

    return {
        "W1": glorot(n_hidden, n_inputs),
        "b1": np.zeros(n_hidden),
        "W2": glorot(n_outputs, n_hidden),
        "b2": np.zeros(n_outputs),
    }


def count_params(params: Params) -> int:
    """Total number of trainable numbers (weights and biases).

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    return int(sum(params[name].size for name in PARAM_NAMES))


def _check_params(params: Params) -> None:
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {list(PARAM_NAMES)}")
    w1, b1, w2, b2 = (np.asarray(params[name]) for name in PARAM_NAMES)
    if w1.ndim != 2 or w2.ndim != 2 or b1.ndim != 1 or b2.ndim != 1:
        raise ValueError("W1 and W2 must be 2-D, b1 and b2 must be 1-D")
    if b1.shape[0] != w1.shape[0] or w2.shape[1] != w1.shape[0] or b2.shape[0] != w2.shape[0]:
        raise ValueError(
            f"inconsistent shapes: W1 {w1.shape}, b1 {b1.shape}, W2 {w2.shape}, b2 {b2.shape}; "
            "expected W1 (h, d), b1 (h,), W2 (k, h), b2 (k,)"
        )


def _check_inputs(params: Params, X: np.ndarray, y: np.ndarray | None = None) -> None:
    """Raise a ValueError that says what is wrong with the shapes of X (and y)."""
    _check_params(params)
    n_inputs = params["W1"].shape[1]
    n_outputs = params["W2"].shape[0]
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != n_inputs:
        raise ValueError(f"X must be 2-D with shape (n_samples, {n_inputs}), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X has no rows")
    if y is None:
        return
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D integer labels with one entry per row of X ({X.shape[0]}), "
            f"got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= n_outputs:
        raise ValueError(f"labels must lie in [0, {n_outputs}), got [{y.min()}, {y.max()}]")


def forward(params: Params, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Forward pass; returns the class probabilities (m, k) and a cache for ``backward``.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X)
    X = np.asarray(X, dtype=float)
    z1 = X @ params["W1"].T + params["b1"]
    a1 = sigmoid(z1)
    z2 = a1 @ params["W2"].T + params["b2"]
    return softmax(z2), {"X": X, "a1": a1, "z2": z2}


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy J = −1/m Σ log softmax(z)[y], computed from the logits.

    The k-class loss of lesson 03; the two-class cost of lesson 02 is
    :func:`mlops_course.regression.cross_entropy`. Introduced in notebooks/03_neural_networks.ipynb.
    """
    logits = np.asarray(logits, dtype=float)
    y = np.asarray(y)
    if logits.ndim != 2 or y.ndim != 1 or y.shape[0] != logits.shape[0]:
        raise ValueError(f"logits must be (m, k) and y (m,), got {logits.shape} and {y.shape}")
    return float(-np.mean(log_softmax(logits)[np.arange(len(y)), y]))


def loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    """The network's mean cross-entropy on (X, y).

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X, y)
    _, cache = forward(params, X)
    return softmax_cross_entropy(cache["z2"], y)


def _loss_and_grads(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    """One forward and one backward pass: the loss and its gradient (inputs already checked)."""
    probs, cache = forward(params, X)
    m = len(y)
    delta2 = probs.copy()
    delta2[np.arange(m), y] -= 1.0
    delta2 /= m
    a1 = cache["a1"]
    delta1 = (delta2 @ params["W2"]) * a1 * (1.0 - a1)
    grads = {
        "W1": delta1.T @ cache["X"],
        "b1": delta1.sum(axis=0),
        "W2": delta2.T @ a1,
        "b2": delta2.sum(axis=0),
    }
    return softmax_cross_entropy(cache["z2"], y), grads


def backward(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
    """Backpropagation: the gradient of ``loss`` with respect to every parameter.

    δ2 = (p − Y)/m, ∂W2 = δ2ᵀa1, ∂b2 = Σδ2, δ1 = (δ2 W2) ⊙ a1(1 − a1), ∂W1 = δ1ᵀX, ∂b1 = Σδ1.
    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X, y)
    return _loss_and_grads(params, X, np.asarray(y))[1]


def numerical_gradient(params: Params, X: np.ndarray, y: np.ndarray, eps: float = 1e-5) -> Params:
    """Central differences (J(θ+ε) − J(θ−ε)) / 2ε for every parameter, one at a time.

    Slow (two forward passes per parameter): use a few examples. ``params`` is left unchanged.
    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X, y)
    work = {name: np.array(params[name], dtype=float) for name in PARAM_NAMES}
    grads: Params = {}
    for name in PARAM_NAMES:
        theta = work[name]
        grad = np.zeros_like(theta)
        for index in np.ndindex(theta.shape):
            saved = theta[index]
            theta[index] = saved + eps
            plus = loss(work, X, y)
            theta[index] = saved - eps
            minus = loss(work, X, y)
            theta[index] = saved
            grad[index] = (plus - minus) / (2.0 * eps)
        grads[name] = grad
    return grads


def relative_error(a: Params, b: Params) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, tiny) over all parameters flattened together.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    flat_a = np.concatenate([np.ravel(a[name]) for name in PARAM_NAMES])
    flat_b = np.concatenate([np.ravel(b[name]) for name in PARAM_NAMES])
    denominator = max(np.linalg.norm(flat_a) + np.linalg.norm(flat_b), 1e-300)
    return float(np.linalg.norm(flat_a - flat_b) / denominator)


def gradient_check(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    grad_fn: GradFn = backward,
    eps: float = 1e-5,
) -> float:
    """Relative error between ``grad_fn`` (backprop by default) and the numerical gradient.

    Below about 1e-7 the analytic gradient is right; around 1e-2 or more it has a bug.
    Introduced in notebooks/03_neural_networks.ipynb.
    """
    return relative_error(grad_fn(params, X, y), numerical_gradient(params, X, y, eps=eps))


def train(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    learning_rate: float,
    batch_size: int | None = None,
    seed: int = 0,
) -> tuple[Params, list[float]]:
    """Minibatch gradient descent; returns new params and the loss history (one value per epoch).

    ``batch_size=None`` uses the whole set each step (batch gradient descent). Each epoch
    shuffles with ``default_rng(seed)``; its history value is the mean minibatch loss over the
    epoch, as Keras reports it. The input ``params`` are not modified.
    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X, y)
    if epochs < 1 or learning_rate <= 0:
        raise ValueError(f"need epochs >= 1 and learning_rate > 0, got {epochs}, {learning_rate}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    m = len(y)
    size = m if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    rng = np.random.default_rng(seed)
    current = {name: np.array(params[name], dtype=float) for name in PARAM_NAMES}
    history: list[float] = []
    for _ in range(epochs):
        order = rng.permutation(m)
        losses, weights = [], []
        for start in range(0, m, size):
            batch = order[start : start + size]
            batch_loss, grads = _loss_and_grads(current, X[batch], y[batch])
            losses.append(batch_loss)
            weights.append(len(batch))
            for name in PARAM_NAMES:
                current[name] -= learning_rate * grads[name]
        history.append(float(np.average(losses, weights=weights)))
    return current, history


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """The most probable class for each row of X.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    probs, _ = forward(params, X)
    return np.argmax(probs, axis=1)


def accuracy(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of X whose predicted class equals y.

    Introduced in notebooks/03_neural_networks.ipynb.
    """
    _check_inputs(params, X, y)
    return float(np.mean(predict(params, X) == np.asarray(y)))
