"""Linear and logistic regression from scratch in NumPy.

The lessons build every piece step by step; these are the tested, reusable versions.
Conventions: ``X`` is an ``(m, n)`` design matrix whose first column is the bias feature
x₀ = 1 (see :func:`add_bias`), ``theta`` has shape ``(n,)`` and ``y`` has shape ``(m,)``.
Bad input (wrong shapes, NaN or inf, labels other than 0/1) raises a ``ValueError`` that says
what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
CostFn = Callable[[Array, Array, Array], float]
GradFn = Callable[[Array, Array, Array], Array]

__all__ = [
    "add_bias",
    "batch_gradient_descent",
    "cross_entropy",
    "linear_cost",
    "linear_gradient",
    "linear_hypothesis",
    "logistic_gradient",
    "logistic_hypothesis",
    "normal_equation",
    "numerical_gradient",
    "predict_linear",
    "predict_logistic",
    "sigmoid",
    "standardize",
]


def _as_finite(name: str, values: object, ndim: int) -> Array:
    """``values`` as a float array with ``ndim`` dimensions, or a ValueError naming ``name``."""
    array = np.asarray(values, dtype=float)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array


def _check(theta: object, X: object, y: object | None = None) -> tuple[Array, Array, Array | None]:
    """Validate ``theta``, ``X`` (and ``y``) and check that their shapes fit together."""
    X = _as_finite("X", X, 2)
    theta = _as_finite("theta", theta, 1)
    if theta.shape[0] != X.shape[1]:
        raise ValueError(f"theta has {theta.shape[0]} entries but X has {X.shape[1]} columns")
    if y is None:
        return theta, X, None
    y = _as_finite("y", y, 1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    return theta, X, y


def _check_labels(y: Array) -> None:
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must contain only the labels 0 and 1")


def add_bias(X: object) -> Array:
    """Prepend the bias feature x₀ = 1 to every row of ``X`` (shape (m, n) → (m, n + 1)).

    Introduced in notebooks/01_linear_regression.ipynb.
    """
    X = _as_finite("X", X, 2)
    return np.column_stack([np.ones(X.shape[0]), X])


def standardize(
    X: object, mean: Array | None = None, std: Array | None = None
) -> tuple[Array, Array, Array]:
    """Scale each column to mean 0 and standard deviation 1; return ``(X_scaled, mean, std)``.

    Pass the ``mean`` and ``std`` learned on the training set to scale new data the same way.
    Constant columns are left centred but not divided (their std is reported as 1).
    Introduced in notebooks/01_linear_regression.ipynb.
    """
    X = _as_finite("X", X, 2)
    if (mean is None) != (std is None):
        raise ValueError("pass both mean and std, or neither")
    if mean is None:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    mean = _as_finite("mean", mean, 1)
    std = _as_finite("std", std, 1)
    if mean.shape[0] != X.shape[1] or std.shape[0] != X.shape[1]:
        raise ValueError(f"mean and std need {X.shape[1]} entries, one per column of X")
    if np.any(std <= 0):
        raise ValueError("std must be positive")
    return (X - mean) / std, mean, std


def linear_hypothesis(theta: object, X: object) -> Array:
    """hθ(x) = θᵀx for every row of ``X``.

    Introduced in notebooks/01_linear_regression.ipynb.
    """
    theta, X, _ = _check(theta, X)
    return X @ theta


predict_linear = linear_hypothesis


def linear_cost(theta: object, X: object, y: object) -> float:
    """Mean squared error cost J(θ) = 1/(2m) Σ (hθ(x⁽ⁱ⁾) − y⁽ⁱ⁾)².

    Introduced in notebooks/01_linear_regression.ipynb.
    """
    theta, X, y = _check(theta, X, y)
    residual = X @ theta - y
    return float(residual @ residual / (2 * X.shape[0]))


def linear_gradient(theta: object, X: object, y: object) -> Array:
    """Gradient of :func:`linear_cost`: ∇J(θ) = 1/m Xᵀ(Xθ − y).

    Introduced in notebooks/01_linear_regression.ipynb.
    """
    theta, X, y = _check(theta, X, y)
    return X.T @ (X @ theta - y) / X.shape[0]


def normal_equation(X: object, y: object) -> Array:
    """The closed-form least-squares θ solving XᵀXθ = Xᵀy (via ``lstsq``, so it is stable).

    Introduced in notebooks/01_linear_regression.ipynb.
    """
    X = _as_finite("X", X, 2)
    _, X, y = _check(np.zeros(X.shape[1]), X, y)
    theta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return theta


def numerical_gradient(f: Callable[[Array], float], theta: object, eps: float = 1e-6) -> Array:
    """Central differences (f(θ + εeⱼ) − f(θ − εeⱼ)) / 2ε for every parameter j.

    The check an analytic gradient must pass before it is trusted.
    Introduced in notebooks/01_linear_regression.ipynb; reused in 02_logistic_regression.ipynb.
    """
    theta = _as_finite("theta", theta, 1)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps}")
    steps = eps * np.eye(len(theta))  # one row per parameter
    return np.array([(f(theta + step) - f(theta - step)) / (2 * eps) for step in steps])


def batch_gradient_descent(
    X: object,
    y: object,
    *,
    cost: CostFn = linear_cost,
    gradient: GradFn = linear_gradient,
    learning_rate: float = 0.1,
    n_steps: int = 1000,
    theta0: object | None = None,
) -> tuple[Array, Array]:
    """Run ``n_steps`` of θ ← θ − α∇J(θ) on all examples; return ``(theta, cost_history)``.

    ``cost_history[k]`` is J after k steps (so it has ``n_steps + 1`` entries). If θ stops
    being finite (the learning rate is too large), descent stops early and the history ends
    with ``inf``. Pass :func:`cross_entropy` and :func:`logistic_gradient`
    to train logistic regression.
    Introduced in notebooks/01_linear_regression.ipynb.
    """
    X = _as_finite("X", X, 2)
    theta = np.zeros(X.shape[1]) if theta0 is None else theta0
    theta, X, y = _check(theta, X, y)
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate}")
    if int(n_steps) != n_steps or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps}")
    theta = theta.copy()
    history = [cost(theta, X, y)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(n_steps)):
            theta = theta - learning_rate * gradient(theta, X, y)
            if not np.all(np.isfinite(theta)):
                history.append(np.inf)
                break
            history.append(cost(theta, X, y))
    return theta, np.array(history)


def sigmoid(z: object) -> Array:
    """The logistic function 1 / (1 + e⁻ᶻ), computed without overflow for any finite z.

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    z = np.asarray(z, dtype=float)
    if np.any(np.isnan(z)):
        raise ValueError("z contains NaN")
    # e^(-|z|) is at most 1, so it never overflows; rearrange for negative z.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_hypothesis(theta: object, X: object) -> Array:
    """hθ(x) = g(θᵀx), the predicted probability that y = 1, for every row of ``X``.

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    theta, X, _ = _check(theta, X)
    return sigmoid(X @ theta)


def cross_entropy(theta: object, X: object, y: object) -> float:
    """Cross-entropy cost J(θ) = −1/m Σ [y log hθ(x) + (1 − y) log(1 − hθ(x))].

    Computed from the logits with ``logaddexp`` so it stays finite when hθ(x) rounds to 0 or 1.
    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    theta, X, y = _check(theta, X, y)
    _check_labels(y)
    z = X @ theta
    # −log g(z) = log(1 + e⁻ᶻ) and −log(1 − g(z)) = log(1 + eᶻ)
    return float(np.mean(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)))


def logistic_gradient(theta: object, X: object, y: object) -> Array:
    """Gradient of :func:`cross_entropy`: ∇J(θ) = 1/m Xᵀ(g(Xθ) − y).

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    theta, X, y = _check(theta, X, y)
    _check_labels(y)
    return X.T @ (sigmoid(X @ theta) - y) / X.shape[0]


def predict_logistic(theta: object, X: object, threshold: float = 0.5) -> Array:
    """Class labels (0 or 1): 1 where hθ(x) ≥ ``threshold``.

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    return (logistic_hypothesis(theta, X) >= threshold).astype(int)
