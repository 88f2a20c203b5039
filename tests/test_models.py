"""The committed model repository (models/): files match their cards, and the cards tell the truth.

No TensorFlow here: the models run with ONNX Runtime and LiteRT, as the server runs them.
"""

from __future__ import annotations

import numpy as np
import pytest
from paths import MODELS
from sklearn.datasets import load_digits

from mlops_course.data import load_diabetes_split, preprocess_digits
from mlops_course.mobilenet import upsample_digits
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import OnnxRunner, TfliteRunner, load_runner

CARDS = sorted(MODELS.glob("*/*/card.json"))
DIGITS = MODELS / "digits" / "1"
DIABETES = MODELS / "diabetes" / "1"
MOBILENET = MODELS / "mobilenet" / "1"


@pytest.fixture(scope="module")
def digits_predictions(digits):
    card = read_card(DIGITS / "card.json")
    return {e.path: load_runner(DIGITS / e.path).predict(digits.x_test) for e in card.files}


def test_repository_has_the_expected_models():
    found = {c.relative_to(MODELS).parent.as_posix() for c in CARDS}
    expected = {"diabetes/1", "digits/1", "mobilenet/1"}
    assert expected <= found, f"model repository holds only {sorted(found)}"
    size = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert size < 5 * 2**20, f"models/ is {size / 2**20:.1f} MiB; keep it under 5 MiB"


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.relative_to(MODELS).as_posix())
def test_card_is_valid_and_every_file_matches_its_sha256(card_path):
    card = read_card(card_path)
    folder = card_path.parent
    assert (card.name, str(card.version)) == (folder.parent.name, folder.name)
    assert verify_files(card, folder) == []
    on_disk = sorted(p.name for p in folder.iterdir())
    assert on_disk == sorted([*(e.path for e in card.files), "card.json"]), "undescribed files"


@pytest.mark.parametrize("card_path", CARDS, ids=lambda p: p.parent.relative_to(MODELS).as_posix())
def test_card_describes_the_tensors_the_file_really_has(card_path):
    card = read_card(card_path)
    for entry in card.files:
        runner = load_runner(card_path.parent / entry.path)
        assert runner.input_name == entry.input.name
        if isinstance(runner, TfliteRunner):
            assert runner.input_dtype.name == entry.input.dtype
            if entry.input.dtype == "int8":
                assert runner.input_quantization() == pytest.approx(
                    (entry.input.scale, entry.input.zero_point)
                )


def test_digits_accuracy_is_at_least_what_the_card_claims(digits, digits_predictions):
    card = read_card(DIGITS / "card.json")
    for entry in card.files:
        accuracy = np.mean(digits_predictions[entry.path].argmax(axis=1) == digits.y_test)
        # int8 kernels differ between CPUs (AVX2 vs VNNI); allow one test image of slack there.
        slack = 0.0 if entry.precision == "fp32" else 1 / len(digits.y_test)
        assert accuracy >= entry.metrics["accuracy"] - slack - 1e-9, entry.path
    assert card.metrics["accuracy"] >= 0.96


def test_onnx_and_tflite_variants_agree_on_99_percent(digits_predictions):
    reference = digits_predictions["model.onnx"].argmax(axis=1)
    for name, probabilities in digits_predictions.items():
        agreement = np.mean(probabilities.argmax(axis=1) == reference)
        assert agreement >= 0.99, f"{name} agrees with model.onnx on only {agreement:.1%}"


def test_card_preprocessing_recipe_is_the_training_pipeline():
    """A client following the card (raw 0–16 pixels × scale, NHWC) builds the model's input."""
    card = read_card(DIGITS / "card.json")
    raw = load_digits().data
    by_card = raw.reshape(-1, 8, 8, 1).astype(np.float32) * card.preprocessing["scale"]
    np.testing.assert_array_equal(by_card, preprocess_digits(raw))
    assert card.preprocessing["layout"] == "NHWC"
    assert card.input.shape[1:] == by_card.shape[1:]


def test_diabetes_metrics_are_what_the_card_claims():
    card = read_card(DIABETES / "card.json")
    split = load_diabetes_split()
    assert list(card.features) == list(split.feature_names)
    predictions = OnnxRunner(DIABETES / "model.onnx").predict(split.x_test).ravel()
    r2 = 1 - np.sum((split.y_test - predictions) ** 2) / np.sum(
        (split.y_test - split.y_test.mean()) ** 2
    )
    mae = np.mean(np.abs(split.y_test - predictions))
    assert r2 >= card.metrics["r2"] - 1e-6
    assert mae <= card.metrics["mae"] + 1e-4


def test_mobilenet_accuracy_and_input_recipe_are_what_the_card_claims(digits):
    """The serving benchmark's heavy model: the card's recipe builds its input; accuracy holds."""
    card = read_card(MOBILENET / "card.json")
    raw = load_digits().data[:5]
    scale, block = card.preprocessing["scale"], card.preprocessing["upsample"]
    by_card = np.kron(raw.reshape(-1, 8, 8, 1) * scale, np.ones((1, block, block, 3)))
    np.testing.assert_array_equal(
        by_card.astype(card.input.dtype), upsample_digits(preprocess_digits(raw), "uint8")
    )
    assert card.input.shape[1:] == by_card.shape[1:]
    low, high = card.preprocessing["input_range"]
    assert low == by_card.min() and high == by_card.max() == 16
    runner = OnnxRunner(MOBILENET / card.default_file)
    x = upsample_digits(digits.x_test, card.input.dtype)
    predicted = np.concatenate([runner.predict(x[i : i + 64]) for i in range(0, len(x), 64)])
    accuracy = np.mean(predicted.argmax(axis=1) == digits.y_test)
    assert accuracy >= card.metrics["accuracy"] - 1e-9
    assert card.metrics["accuracy"] >= 0.8
