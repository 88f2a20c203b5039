"""Tests for mlops_course.neural_net, checked against SciPy, scikit-learn and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from mlops_course import neural_net as nn
from mlops_course import regression as reg

# The lesson's recipe (64 → 32 → 10, SGD α=0.5, batch 32, 30 epochs) reaches 0.972; 0.95 leaves
# room for BLAS rounding differences between machines while still catching a broken network.
DIGITS_ACCURACY_THRESHOLD = 0.95


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return train_test_split(
        data.data / 16.0, data.target, test_size=0.2, random_state=0, stratify=data.target
    )


@pytest.fixture
def small_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    y = np.argmax(X[:, :3], axis=1)  # learnable labels, 3 classes
    params = nn.init_params(5, 4, 3, seed=1)
    # non-zero biases so their gradients are exercised too
    params["b1"] = rng.normal(size=4)
    params["b2"] = rng.normal(size=3)
    return params, X, y


def test_softmax_matches_scipy():
    z = np.random.default_rng(2).normal(scale=10, size=(50, 7))
    np.testing.assert_allclose(nn.softmax(z), scipy_softmax(z, axis=-1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(nn.softmax(z, axis=0), scipy_softmax(z, axis=0), rtol=0, atol=1e-12)


def test_softmax_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow is an error
        probs = nn.softmax(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]))
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs[0], scipy_softmax([0.0, 1.0, 2.0]), atol=1e-12)


def test_the_hidden_layer_uses_lesson_02s_sigmoid():
    """One sigmoid in the package: the network's is regression's (lesson 02), not a copy."""
    assert nn.sigmoid is reg.sigmoid


def test_log_softmax_and_sigmoid_are_stable():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(nn.log_softmax(z), [[-2000.0, -1000.0, 0.0]])
        s = nn.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


def test_softmax_cross_entropy_matches_sklearn(small_problem):
    params, X, y = small_problem
    probs, cache = nn.forward(params, X)
    expected = log_loss(y, probs, labels=[0, 1, 2])
    assert nn.softmax_cross_entropy(cache["z2"], y) == pytest.approx(expected, rel=1e-10)
    assert nn.loss(params, X, y) == pytest.approx(expected, rel=1e-10)


def test_forward_shapes_and_probabilities(small_problem):
    params, X, _ = small_problem
    probs, cache = nn.forward(params, X)
    assert probs.shape == (12, 3)
    assert cache["a1"].shape == (12, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_init_params_is_seeded_and_counted():
    a = nn.init_params(64, 32, 10, seed=0)
    b = nn.init_params(64, 32, 10, seed=0)
    c = nn.init_params(64, 32, 10, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in nn.PARAM_NAMES)
    assert not np.array_equal(a["W1"], c["W1"])
    assert nn.count_params(a) == 64 * 32 + 32 + 32 * 10 + 10 == 2410
    limit = np.sqrt(6 / (64 + 32))  # Glorot uniform, as Keras
    assert np.abs(a["W1"]).max() <= limit


def test_gradient_check_passes_for_backprop(small_problem):
    params, X, y = small_problem
    assert nn.gradient_check(params, X, y) < 1e-7


@pytest.mark.parametrize("broken", ["W1", "b1", "W2", "b2"])
def test_gradient_check_fails_for_a_wrong_gradient(small_problem, broken):
    params, X, y = small_problem

    def wrong_backward(p, X_, y_):
        grads = nn.backward(p, X_, y_)
        grads[broken] = grads[broken] * 1.5  # one parameter's gradient is off by 50 %
        return grads

    assert nn.gradient_check(params, X, y, grad_fn=wrong_backward) > 1e-3


def test_gradient_check_fails_without_sigmoid_derivative(small_problem):
    params, X, y = small_problem

    def forgot_sigmoid_derivative(p, X_, y_):
        probs, cache = nn.forward(p, X_)
        delta2 = (probs - np.eye(3)[y_]) / len(y_)
        delta1 = delta2 @ p["W2"]  # missing * a1 * (1 - a1)
        return {
            "W1": delta1.T @ X_,
            "b1": delta1.sum(0),
            "W2": delta2.T @ cache["a1"],
            "b2": delta2.sum(0),
        }

    assert nn.gradient_check(params, X, y, grad_fn=forgot_sigmoid_derivative) > 1e-2


def test_numerical_gradient_leaves_params_unchanged(small_problem):
    params, X, y = small_problem
    before = {k: v.copy() for k, v in params.items()}
    nn.numerical_gradient(params, X, y)
    assert all(np.array_equal(before[k], params[k]) for k in nn.PARAM_NAMES)


@pytest.mark.parametrize("batch_size", [None, 4])
def test_training_decreases_the_loss(small_problem, batch_size):
    params, X, y = small_problem
    before = {k: v.copy() for k, v in params.items()}
    trained, history = nn.train(
        params, X, y, epochs=50, learning_rate=0.5, batch_size=batch_size, seed=0
    )
    assert len(history) == 50
    assert history[-1] < 0.5 * history[0]
    assert nn.loss(trained, X, y) < nn.loss(params, X, y)
    assert all(np.array_equal(before[k], params[k]) for k in nn.PARAM_NAMES)


def test_full_batch_history_decreases_monotonically(small_problem):
    params, X, y = small_problem
    _, history = nn.train(params, X, y, epochs=30, learning_rate=0.1)
    assert np.all(np.diff(history) < 0)


def test_digits_accuracy_above_threshold(digits):
    X_train, X_test, y_train, y_test = digits
    params = nn.init_params(64, 32, 10, seed=0)
    trained, history = nn.train(
        params, X_train, y_train, epochs=30, learning_rate=0.5, batch_size=32, seed=0
    )
    assert history[-1] < 0.15
    assert nn.accuracy(trained, X_test, y_test) > DIGITS_ACCURACY_THRESHOLD
    assert nn.predict(trained, X_test).shape == y_test.shape


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((4, 6)), np.zeros(4, dtype=int), r"shape \(n_samples, 5\)"),
        (np.zeros(5), np.zeros(1, dtype=int), r"must be 2-D"),
        (np.zeros((0, 5)), np.zeros(0, dtype=int), r"no rows"),
        (np.zeros((4, 5)), np.zeros(3, dtype=int), r"one entry per row"),
        (np.zeros((4, 5)), np.zeros((4, 1), dtype=int), r"y must be 1-D"),
        (np.zeros((4, 5)), np.zeros(4), r"integer class labels"),
        (np.zeros((4, 5)), np.array([0, 1, 2, 3]), r"labels must lie in \[0, 3\)"),
    ],
)
def test_bad_shapes_raise_clear_value_errors(small_problem, X, y, message):
    params, _, _ = small_problem
    with pytest.raises(ValueError, match=message):
        nn.loss(params, X, y)
    with pytest.raises(ValueError, match=message):
        nn.train(params, X, y, epochs=1, learning_rate=0.1)


def test_bad_params_raise_clear_value_errors(small_problem):
    params, X, _ = small_problem
    with pytest.raises(ValueError, match="missing"):
        nn.forward({"W1": params["W1"]}, X)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        nn.forward({**params, "b1": np.zeros(7)}, X)
    with pytest.raises(ValueError, match="positive"):
        nn.init_params(0, 4, 3, seed=0)
