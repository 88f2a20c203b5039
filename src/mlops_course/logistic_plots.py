"""The figures of notebooks/02_logistic_regression.ipynb, so each lesson cell reads as one idea.

Every function draws one labelled figure with matplotlib and returns it; the lesson calls
``plt.show()``. The data and the model stay in the lesson: these only draw what it computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

CLASSES = ((0, "benign", "tab:blue", "o"), (1, "malignant", "tab:red", "^"))


def _two_classes(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y):
        raise ValueError(f"need X of shape (m, 2) and y of length m, got {X.shape} and {y.shape}")
    return X, y


def sigmoid_curve(z: np.ndarray, g: np.ndarray) -> Figure:
    """g(z) against z, with the 0.5 threshold marked. Introduced in 02_logistic_regression."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.plot(z, g, lw=2.5)
    ax.axhline(0.5, color="grey", ls=":")
    ax.axvline(0, color="grey", ls=":")
    ax.annotate(
        "g(0) = 0.5: the decision threshold",
        xy=(0, 0.5),
        xytext=(0.8, 0.25),
        arrowprops={"arrowstyle": "->"},
    )
    ax.set(xlabel="score z = θᵀx", ylabel="g(z) = P(y = 1 | x)", title="The sigmoid function")
    return fig


def two_feature_scatter(X: np.ndarray, y: np.ndarray, title: str) -> Figure:
    """Benign and malignant biopsies on mean radius and mean texture. Introduced in lesson 02."""
    X, y = _two_classes(X, y)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, name, colour, _ in CLASSES:
        pick = y == label
        ax.scatter(X[pick, 0], X[pick, 1], s=14, alpha=0.6, c=colour, label=name)
    ax.set(xlabel="mean radius", ylabel="mean texture", title=title)
    ax.legend()
    return fig


def cost_shapes() -> Figure:
    """One example's cross-entropy for y = 0 and y = 1, and the squared error beside it.

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    h = np.linspace(0.001, 0.999, 300)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(h, -np.log(h), lw=2, label="y = 1: −log h")
    left.plot(h, -np.log(1 - h), lw=2, label="y = 0: −log(1 − h)")
    left.set(title="Cross-entropy punishes confident mistakes")
    right.plot(h, (h - 1) ** 2, lw=2, color="tab:grey", label="y = 1: (h − 1)²")
    right.plot(h, -np.log(h), lw=2, ls="--", label="y = 1: −log h")
    right.set(title="Squared error barely notices them")
    for ax in (left, right):
        ax.set(xlabel="predicted probability h", ylabel="cost of one example", ylim=(0, 5))
        ax.legend()
    return fig


def decision_boundary(
    grid_x: np.ndarray, grid_y: np.ndarray, prob: np.ndarray, X: np.ndarray, y: np.ndarray
) -> Figure:
    """Predicted P(malignant) over a grid, the h = 0.5 line, and the points ``X`` by class.

    ``grid_x``, ``grid_y`` come from ``np.meshgrid`` and ``prob`` has their shape.
    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    X, y = _two_classes(X, y)
    if not np.shape(grid_x) == np.shape(grid_y) == np.shape(prob):
        raise ValueError("grid_x, grid_y and prob must have the same shape (use np.meshgrid)")
    fig, ax = plt.subplots(figsize=(7, 5))
    shade = ax.contourf(grid_x, grid_y, prob, levels=20, cmap="RdBu_r", alpha=0.55)
    ax.contour(grid_x, grid_y, prob, levels=[0.5], colors="k", linewidths=2)
    for label, name, colour, marker in CLASSES:
        pick = y == label
        ax.scatter(X[pick, 0], X[pick, 1], marker=marker, s=28, edgecolor="k", c=colour, label=name)
    fig.colorbar(shade, label="predicted P(malignant)")
    ax.set(xlabel="mean radius", ylabel="mean texture", title="Decision boundary h(x) = 0.5")
    ax.legend(loc="upper right")
    return fig


def overfitting_curves(
    steps: np.ndarray, train_cost: np.ndarray, test_cost: np.ndarray, norms: np.ndarray, kept: int
) -> Figure:
    """Training and test cost, and ‖θ‖, against the step; ``kept`` marks the model kept.

    Introduced in notebooks/02_logistic_regression.ipynb.
    """
    if not len(steps) == len(train_cost) == len(test_cost) == len(norms):
        raise ValueError("steps, train_cost, test_cost and norms must have the same length")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    left.plot(steps, train_cost, lw=2, label="training set")
    left.plot(steps, test_cost, lw=2, label="test set")
    left.axvline(kept, color="grey", ls=":", label=f"model kept ({kept} steps)")
    left.set(
        xlabel="step", ylabel="cross-entropy", title="30 features: cost on seen and unseen data"
    )
    left.legend()
    right.plot(steps, norms, lw=2, color="tab:purple")
    right.set(xlabel="step", ylabel="‖θ‖", title="Without a penalty the weights keep growing")
    return fig
