"""The figures of lesson 02 draw what they are given, with labelled axes, and refuse bad shapes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from mlops_course import logistic_plots as plots

X = np.array([[10.0, 15.0], [20.0, 25.0], [12.0, 30.0]])
Y = np.array([0, 1, 1])


def labelled(fig) -> bool:
    return all(
        ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes if ax.get_label() != "<colorbar>"
    )


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_every_figure_has_labelled_axes():
    z = np.linspace(-8, 8, 50)
    gx, gy = np.meshgrid(np.linspace(6, 29, 5), np.linspace(9, 40, 4))
    figures = [
        plots.sigmoid_curve(z, 1 / (1 + np.exp(-z))),
        plots.two_feature_scatter(X, Y, "t"),
        plots.cost_shapes(),
        plots.decision_boundary(gx, gy, np.full(gx.shape, 0.4) + 0.2 * (gx > 15), X, Y),
        plots.overfitting_curves(np.arange(3), np.ones(3), np.ones(3), np.ones(3), kept=1),
    ]
    assert all(labelled(fig) for fig in figures)


def test_scatter_draws_one_series_per_class_with_all_points():
    fig = plots.two_feature_scatter(X, Y, "t")
    sizes = [len(c.get_offsets()) for c in fig.axes[0].collections]
    assert sizes == [1, 2]


@pytest.mark.parametrize(
    "call",
    [
        lambda: plots.two_feature_scatter(X[:, :1], Y, "t"),
        lambda: plots.two_feature_scatter(X, Y[:2], "t"),
        lambda: plots.decision_boundary(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)), X, Y),
        lambda: plots.overfitting_curves(np.arange(3), np.ones(2), np.ones(3), np.ones(3), 1),
    ],
)
def test_bad_shapes_raise_a_one_line_value_error(call):
    with pytest.raises(ValueError, match=r"shape|length"):
        call()
