"""mlops_course.train: the digits CNN's shape, (slow) reproducible training with Keras ↔ ONNX
Runtime parity, and the diabetes regressor."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_course import train
from mlops_course.convert import keras_to_onnx
from mlops_course.data import load_diabetes_split, load_digits_split
from mlops_course.runtime import OnnxRunner, import_tensorflow


def test_digits_cnn_names_its_input_and_output_for_the_exports():
    model = train.build_digits_cnn()
    assert model.inputs[0].shape == (None, 8, 8, 1)
    assert (model.layers[0].name, model.layers[-1].name) == ("conv1", "probabilities")
    assert 140_000 < model.count_params() < 160_000


def test_diabetes_regressor_scales_inside_the_pipeline():
    split = load_diabetes_split()
    pipeline = train.train_diabetes_regressor(split)
    assert [name for name, _ in pipeline.steps] == ["standardscaler", "ridge"]
    assert pipeline.score(split.x_test, split.y_test) > 0.3


@pytest.mark.slow
def test_same_seed_same_model_and_onnx_parity(tmp_path):
    split = load_digits_split()
    first, history = train.train_digits_cnn(split, seed=0, epochs=2)
    second, history_again = train.train_digits_cnn(split, seed=0, epochs=2)
    _, history_other = train.train_digits_cnn(split, seed=1, epochs=2)
    assert history == history_again
    assert history != history_other
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    keras_probabilities = first.predict(split.x_test, verbose=0)
    runner = OnnxRunner(keras_to_onnx(first, tmp_path / "model.onnx"))
    assert (runner.input_name, runner.output_name) == ("images", "probabilities")
    onnx_probabilities = runner.predict(split.x_test)
    assert np.abs(onnx_probabilities - keras_probabilities).max() <= 1e-5
    np.testing.assert_array_equal(onnx_probabilities.argmax(1), keras_probabilities.argmax(1))


@pytest.mark.slow
def test_save_keras_drops_the_optimizer_and_keeps_the_weights(tmp_path):
    split = load_digits_split()
    model, _ = train.train_digits_cnn(split, seed=0, epochs=1)
    path = train.save_keras(model, tmp_path / "model.keras")
    model.save(tmp_path / "with_optimizer.keras")
    assert path.stat().st_size < 0.5 * (tmp_path / "with_optimizer.keras").stat().st_size
    again = import_tensorflow().keras.models.load_model(path)
    assert getattr(again, "optimizer", None) is None
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
