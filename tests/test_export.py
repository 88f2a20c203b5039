"""mlops_course.export: the command line, the diabetes version folder (skl2onnx parity) and
(slow) a complete digits version folder."""

from __future__ import annotations

import numpy as np
import pytest

from mlops_course import export
from mlops_course.data import load_diabetes_split
from mlops_course.evaluate import regression_metrics
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import OnnxRunner
from mlops_course.train import train_diabetes_regressor

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
    pipeline = train_diabetes_regressor(split)
    ours = OnnxRunner(folder / "model.onnx").predict(split.x_test).ravel()
    np.testing.assert_allclose(ours, pipeline.predict(split.x_test), rtol=1e-4, atol=1e-3)
    assert card.metrics["r2"] == regression_metrics(ours, split.y_test)["r2"]
    assert card.input.name == "features" and card.input.shape == (None, 10)


# --- slow: TensorFlow ----------------------------------------------------------------------


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
