"""mlops_course.regression against scikit-learn, finite differences and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss

from mlops_course import regression as reg


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return X, y


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Overlapping classes, so the unpenalised optimum is finite."""
    X, y = make_classification(
        n_samples=300,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        flip_y=0.1,
        class_sep=0.8,
        random_state=0,
    )
    return X, y


def numerical_gradient(cost, theta: np.ndarray, X, y, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(theta)
    for j in range(theta.size):
        step = np.zeros_like(theta)
        step[j] = eps
        grad[j] = (cost(theta + step, X, y) - cost(theta - step, X, y)) / (2 * eps)
    return grad


# --- linear regression -------------------------------------------------------------------


def test_cost_is_half_the_mean_squared_error(diabetes):
    X, y = diabetes
    A = reg.add_bias(reg.standardize(X)[0])
    theta = np.random.default_rng(0).normal(size=A.shape[1])
    expected = 0.5 * np.mean((A @ theta - y) ** 2)
    assert reg.linear_cost(theta, A, y) == pytest.approx(expected, rel=1e-12)


def test_cost_is_zero_at_the_exact_solution():
    X = reg.add_bias(np.arange(6.0).reshape(-1, 1))
    y = X @ np.array([4.0, 3.0])
    assert reg.linear_cost([4.0, 3.0], X, y) == 0.0
    assert reg.linear_cost([4.0, 2.0], X, y) == pytest.approx(np.mean(np.arange(6.0) ** 2) / 2)


def test_linear_gradient_matches_finite_differences(diabetes):
    X, y = diabetes
    A = reg.add_bias(reg.standardize(X)[0])
    theta = np.random.default_rng(1).normal(size=A.shape[1])
    numeric = numerical_gradient(reg.linear_cost, theta, A, y)
    np.testing.assert_allclose(reg.linear_gradient(theta, A, y), numeric, rtol=1e-6, atol=1e-6)


def test_normal_equation_matches_sklearn(diabetes):
    """Unscaled raw features: the closed form agrees with sklearn to 1e-8 relative."""
    X, y = diabetes
    theta = reg.normal_equation(reg.add_bias(X), y)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(theta[0], model.intercept_, rtol=1e-8)
    np.testing.assert_allclose(theta[1:], model.coef_, rtol=1e-8)


def test_gradient_descent_on_scaled_features_matches_sklearn(diabetes):
    """4000 steps at α = 0.4 on standardised features: coefficients within 1e-3 relative."""
    X, y = diabetes
    Xs, mean, std = reg.standardize(X)
    theta, history = reg.batch_gradient_descent(
        reg.add_bias(Xs), y, learning_rate=0.4, n_steps=4000
    )
    coef = theta[1:] / std  # back to the original units
    intercept = theta[0] - coef @ mean
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(coef, model.coef_, rtol=1e-3)
    assert intercept == pytest.approx(model.intercept_, rel=1e-3)
    assert history.shape == (4001,)
    assert np.all(np.diff(history) <= 1e-9), "the cost must never rise at a stable learning rate"


def test_gradient_descent_recovers_a_known_line():
    rng = np.random.default_rng(42)
    x = rng.uniform(0, 2, size=200)
    y = 4.0 + 3.0 * x + rng.normal(0, 0.1, size=200)
    theta, _ = reg.batch_gradient_descent(
        reg.add_bias(x[:, None]), y, learning_rate=0.5, n_steps=2000
    )
    np.testing.assert_allclose(theta, [4.0, 3.0], atol=0.05)


def test_too_large_learning_rate_stops_on_divergence():
    X = reg.add_bias(np.linspace(0, 2, 50)[:, None])
    y = 1 + 2 * X[:, 1]
    _, history = reg.batch_gradient_descent(X, y, learning_rate=5.0, n_steps=10_000)
    assert history[-1] > history[0] or not np.isfinite(history[-1])
    assert len(history) < 10_001, "descent should stop once the cost is no longer finite"


def test_standardize_reuses_training_statistics(diabetes):
    X, _ = diabetes
    Xs, mean, std = reg.standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), 1, rtol=1e-12)
    again, _, _ = reg.standardize(X[:5], mean, std)
    np.testing.assert_allclose(again, Xs[:5])
    constant, _, std_c = reg.standardize(np.ones((4, 1)))
    assert np.all(constant == 0) and std_c[0] == 1


# --- logistic regression -----------------------------------------------------------------


def test_sigmoid_matches_scipy_and_never_overflows():
    z = np.array([-1e4, -745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 745.0, 1e4])
    with np.errstate(over="raise", invalid="raise"):  # overflow or NaN would fail the test
        got = reg.sigmoid(z)
    np.testing.assert_allclose(got, expit(z), rtol=1e-12, atol=1e-300)
    assert reg.sigmoid(0.0) == 0.5


def test_cross_entropy_matches_sklearn_log_loss(blobs):
    X, y = blobs
    A = reg.add_bias(X)
    theta = np.random.default_rng(2).normal(size=A.shape[1])
    expected = log_loss(y, expit(A @ theta))
    assert reg.cross_entropy(theta, A, y) == pytest.approx(expected, rel=1e-10)


def test_cross_entropy_is_finite_for_confident_mistakes():
    A = reg.add_bias(np.array([[1.0], [-1.0]]))
    cost = reg.cross_entropy([0.0, 1000.0], A, np.array([0, 1]))
    # both examples are wrong with logit ±1000: each costs log(1 + e¹⁰⁰⁰) ≈ 1000, not inf
    assert cost == pytest.approx(1000.0)


def test_logistic_gradient_matches_finite_differences(blobs):
    X, y = blobs
    A = reg.add_bias(X)
    theta = np.random.default_rng(3).normal(size=A.shape[1])
    numeric = numerical_gradient(reg.cross_entropy, theta, A, y)
    np.testing.assert_allclose(reg.logistic_gradient(theta, A, y), numeric, rtol=1e-6, atol=1e-8)


def test_logistic_descent_matches_unpenalised_sklearn(blobs):
    """5000 steps at α = 1: coefficients within 1e-3 of sklearn with no penalty (C = inf)."""
    X, y = blobs
    theta, history = reg.batch_gradient_descent(
        reg.add_bias(X),
        y,
        cost=reg.cross_entropy,
        gradient=reg.logistic_gradient,
        learning_rate=1.0,
        n_steps=5000,
    )
    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(theta[1:], model.coef_[0], atol=1e-3)
    assert theta[0] == pytest.approx(model.intercept_[0], abs=1e-3)
    np.testing.assert_array_equal(reg.predict_logistic(theta, reg.add_bias(X)), model.predict(X))
    assert history[-1] < history[0]


def test_breast_cancer_accuracy_close_to_sklearn():
    """Held-out accuracy of 2000 scratch steps is within 0.02 of sklearn's default model."""
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:400], order[400:]
    Xs, mean, std = reg.standardize(X[train])
    theta, _ = reg.batch_gradient_descent(
        reg.add_bias(Xs),
        y[train],
        cost=reg.cross_entropy,
        gradient=reg.logistic_gradient,
        learning_rate=0.5,
        n_steps=2000,
    )
    Xt = reg.add_bias(reg.standardize(X[test], mean, std)[0])
    ours = np.mean(reg.predict_logistic(theta, Xt) == y[test])
    theirs = LogisticRegression().fit(Xs, y[train]).score(Xt[:, 1:], y[test])
    assert ours >= 0.95
    assert abs(ours - theirs) <= 0.02


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: reg.linear_cost([0.0, 1.0], np.ones((3, 2)), np.ones(4)), "4 entries but X has 3"),
        (lambda: reg.linear_cost([0.0, 1.0, 2.0], np.ones((3, 2)), np.ones(3)), "3 entries but X"),
        (lambda: reg.linear_cost([0.0, 1.0], np.ones(3), np.ones(3)), "X must be 2-D"),
        (lambda: reg.linear_gradient([0.0, 1.0], [[1, np.nan]], [1.0]), "X contains NaN"),
        (lambda: reg.linear_cost([0.0, np.inf], np.ones((1, 2)), [1.0]), "theta contains NaN"),
        (lambda: reg.normal_equation(np.ones((2, 2)), [1.0, np.nan]), "y contains NaN"),
        (lambda: reg.cross_entropy([0.0], np.ones((2, 1)), [0, 2]), "only the labels 0 and 1"),
        (lambda: reg.logistic_gradient([0.0], np.ones((2, 1)), [0.5, 1]), "labels 0 and 1"),
        (lambda: reg.sigmoid([0.0, np.nan]), "z contains NaN"),
        (lambda: reg.add_bias(np.empty((0, 2))), "X is empty"),
        (lambda: reg.standardize(np.ones((3, 2)), mean=np.zeros(2)), "both mean and std"),
        (lambda: reg.standardize(np.ones((3, 2)), np.zeros(3), np.ones(3)), "need 2 entries"),
        (
            lambda: reg.batch_gradient_descent(np.ones((3, 2)), np.ones(3), learning_rate=-1),
            "learning_rate",
        ),
        (lambda: reg.batch_gradient_descent(np.ones((3, 2)), np.ones(2)), "2 entries but X has 3"),
        (lambda: reg.batch_gradient_descent(np.ones((3, 2)), np.ones(3), n_steps=-1), "n_steps"),
        (lambda: reg.predict_logistic([0.0], np.ones((1, 1)), threshold=1.0), "threshold"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numerical_gradient_matches_a_known_gradient():
    def f(t):
        return float(t[0] ** 2 + 3 * t[0] * t[1])

    theta = np.array([1.5, -2.0])
    np.testing.assert_allclose(reg.numerical_gradient(f, theta), [2 * 1.5 - 6.0, 4.5], atol=1e-6)


@pytest.mark.parametrize("theta, eps", [([np.nan], 1e-6), ([1.0], 0.0), ([[1.0]], 1e-6)])
def test_numerical_gradient_rejects_bad_input(theta, eps):
    with pytest.raises(ValueError, match=r"theta|eps"):
        reg.numerical_gradient(lambda t: 0.0, theta, eps)
