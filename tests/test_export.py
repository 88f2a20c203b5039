"""Export pipeline: data splits, the command line, skl2onnx parity, and (slow) reproducible
training with Keras ↔ ONNX Runtime parity and a complete version folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mlops_course import export
from mlops_course.bench import latency_ms
from mlops_course.data import load_diabetes_split, load_digits_split, preprocess_digits
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import OnnxRunner, dequantize, quantize

# --- data ---------------------------------------------------------------------------------


def test_digits_split_is_nhwc_float32_in_unit_range_and_stratified():
    split = load_digits_split()
    assert split.x_train.shape == (1347, 8, 8, 1) and split.x_test.shape == (450, 8, 8, 1)
    assert split.x_train.dtype == np.float32
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0
    train_share = np.bincount(split.y_train) / len(split.y_train)
    test_share = np.bincount(split.y_test) / len(split.y_test)
    assert np.abs(train_share - test_share).max() < 0.01
    again = load_digits_split()
    np.testing.assert_array_equal(split.x_test, again.x_test)
    assert not np.array_equal(split.y_test, load_digits_split(seed=1).y_test)


def test_preprocess_digits_rejects_images_of_the_wrong_size():
    with pytest.raises(ValueError, match="64 pixels"):
        preprocess_digits(np.zeros((2, 63)))


def test_diabetes_split_keeps_original_units():
    split = load_diabetes_split()
    assert split.feature_names[:3] == ("age", "sex", "bmi")
    assert split.x_train[:, 0].max() > 50  # age in years, not the scaled version


# --- command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cats", "--out", "m"], "invalid choice: 'cats'"),
        (["all"], "the following arguments are required: --out"),
        (["all", "--out", "m", "--version", "0"], "expected a whole number >= 1, got 0"),
        (["all", "--out", "m", "--epochs", "many"], "expected a whole number >= 1, got 'many'"),
        (["all", "--out", "m", "--seed", "-3"], "expected a whole number >= 0, got -3"),
    ],
)
def test_cli_rejects_bad_arguments_clearly(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        export.main(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_an_output_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "models"
    target.write_text("")
    with pytest.raises(SystemExit):
        export.main(["all", "--out", str(target)])
    assert "exists and is not a folder" in capsys.readouterr().err


# --- the scikit-learn regressor ------------------------------------------------------------


def test_diabetes_export_matches_scikit_learn(tmp_path):
    card = export.export_diabetes(tmp_path, version=3, log=lambda _: None)
    folder = tmp_path / "diabetes" / "3"
    assert read_card(folder / "card.json") == card
    assert verify_files(card, folder) == []
    split = load_diabetes_split()
    pipeline = export.train_diabetes_regressor(split)
    ours = OnnxRunner(folder / "model.onnx").predict(split.x_test).ravel()
    np.testing.assert_allclose(ours, pipeline.predict(split.x_test), rtol=1e-4, atol=1e-3)
    assert card.metrics["r2"] == export.regression_metrics(ours, split.y_test)["r2"]
    assert card.input.name == "features" and card.input.shape == (None, 10)


# --- small helpers ------------------------------------------------------------------------


def test_quantize_round_trip_is_within_half_a_step():
    x = np.linspace(0, 1, 101, dtype=np.float32)
    scale, zero_point = 1 / 255, -128
    q = quantize(x, scale, zero_point, np.int8)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    assert np.abs(dequantize(q, scale, zero_point) - x).max() <= scale / 2 + 1e-7
    assert quantize(np.array([5.0]), scale, zero_point, np.int8)[0] == 127  # clipped


def test_latency_ms_calls_warmup_plus_repeats_and_orders_percentiles():
    calls = []
    stats = latency_ms(lambda: calls.append(1), warmup=3, repeats=20)
    assert len(calls) == 23
    assert 0 <= stats["p50_ms"] <= stats["p99_ms"]
    with pytest.raises(ValueError, match="repeats >= 1"):
        latency_ms(lambda: None, repeats=0)


# --- slow: TensorFlow ---------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_same_model_and_onnx_parity(tmp_path):
    split = load_digits_split()
    first, history = export.train_digits_cnn(split, seed=0, epochs=2)
    second, history_again = export.train_digits_cnn(split, seed=0, epochs=2)
    _, history_other = export.train_digits_cnn(split, seed=1, epochs=2)
    assert history == history_again
    assert history != history_other
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    keras_probabilities = first.predict(split.x_test, verbose=0)
    runner = OnnxRunner(export.keras_to_onnx(first, tmp_path / "model.onnx"))
    assert (runner.input_name, runner.output_name) == ("images", "probabilities")
    onnx_probabilities = runner.predict(split.x_test)
    assert np.abs(onnx_probabilities - keras_probabilities).max() <= 1e-5
    np.testing.assert_array_equal(onnx_probabilities.argmax(1), keras_probabilities.argmax(1))


@pytest.mark.slow
def test_export_digits_writes_a_complete_verified_version(tmp_path):
    card = export.export_digits(tmp_path, version=2, epochs=3, log=lambda _: None)
    folder = tmp_path / "digits" / "2"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*export.DIGITS_FILES, "card.json"])
    assert verify_files(read_card(folder / "card.json"), folder) == []
    assert [entry.path for entry in card.files] == list(export.DIGITS_FILES)
    int8 = card.file("model_int8.tflite")
    assert (int8.input.dtype, int8.output.dtype) == ("int8", "int8")
    assert (
        card.file("model_int8_static.onnx").size_bytes <= 0.30 * card.file("model.onnx").size_bytes
    )
    assert card.training["epochs"] == 3 and card.training["parameters"] > 100_000
    assert not list(tmp_path.glob("digits/.*")), "staging folder left behind"


def test_load_keras_refuses_a_network_that_is_not_the_cards(tmp_path):
    committed = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"
    folder = shutil.copytree(committed, tmp_path / "1")
    with open(folder / "model.keras", "ab") as file:
        file.write(b"\0")
    with pytest.raises(ValueError, match="is not the card's"):
        export.load_keras(folder)


def test_load_keras_gives_the_network_behind_the_committed_exports(digits):
    committed = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"
    model = export.load_keras(committed)
    keras = model(digits.x_test, training=False).numpy()
    onnx = OnnxRunner(committed / "model.onnx").predict(digits.x_test)
    np.testing.assert_allclose(keras, onnx, atol=1e-5)
