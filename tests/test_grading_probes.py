"""Lab 03's reference for the tanh network (grading/probes.py) against first principles."""

import numpy as np

from mlops_course import neural_net as nn
from mlops_course.grading import probes


def tanh_net(seed=0):
    rng = np.random.default_rng(seed)
    params = nn.init_params(5, 4, 3, seed=seed)
    params["b1"], params["b2"] = rng.normal(size=4), rng.normal(size=3)
    return params, rng.normal(size=(7, 5)), rng.integers(0, 3, size=7)


def test_tanh_loss_is_the_cross_entropy_of_a_tanh_network():
    params, X, y = tanh_net()
    logits = np.tanh(X @ params["W1"].T + params["b1"]) @ params["W2"].T + params["b2"]
    assert np.isclose(probes.tanh_loss(params, X, y), nn.softmax_cross_entropy(logits, y))


def test_tanh_gradients_match_central_differences():
    params, X, y = tanh_net(seed=1)
    grads, eps = probes.tanh_gradients(params, X, y), 1e-6
    for name, value in params.items():
        assert grads[name].shape == value.shape
        for index in np.ndindex(value.shape):
            up = {k: v.copy() for k, v in params.items()}
            down = {k: v.copy() for k, v in params.items()}
            up[name][index] += eps
            down[name][index] -= eps
            numeric = (probes.tanh_loss(up, X, y) - probes.tanh_loss(down, X, y)) / (2 * eps)
            assert np.isclose(grads[name][index], numeric, rtol=1e-5, atol=1e-8), (name, index)
