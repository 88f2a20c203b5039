"""The Edge-TPU-ready digits model in models/: full int8, batch 1, static shapes, in the card.

Fast tests read the committed file (no TensorFlow); the slow one rebuilds it from the committed
``model.keras`` in a temporary copy of the version folder, as ``export digits-edgetpu`` does.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from paths import MODELS

from mlops_course import export
from mlops_course.edgetpu.preflight import preflight
from mlops_course.edgetpu.ready import READY_FILE, READY_PRECISION, add_ready_model
from mlops_course.evaluate import classification_metrics, predict_batched
from mlops_course.model_card import read_card, verify_files
from mlops_course.runtime import TfliteRunner

FOLDER = MODELS / "digits" / "1"


def test_committed_ready_model_passes_preflight():
    report = preflight(FOLDER / READY_FILE)
    assert report.compatible, report.table()
    assert [o.name for o in report.ops if not o.maps] == []


def test_ready_model_is_in_the_card_int8_batch1_static():
    card = read_card(FOLDER / "card.json")
    assert verify_files(card, FOLDER) == []
    entry = card.file(READY_FILE)
    assert (entry.format, entry.precision) == ("tflite", READY_PRECISION)
    assert (entry.input.dtype, entry.output.dtype) == ("int8", "int8")
    assert entry.input.shape == (1, 8, 8, 1) and entry.output.shape == (1, 10)
    assert [e.path for e in card.files] == list(export.DIGITS_FILES)


def test_ready_model_accuracy_is_close_to_model_int8(digits):
    card = read_card(FOLDER / "card.json")
    runner = TfliteRunner(FOLDER / READY_FILE)
    accuracy = classification_metrics(predict_batched(runner, digits.x_test), digits.y_test)
    # The same network and calibration data, only the batch is fixed: within two test images.
    assert abs(accuracy["accuracy"] - card.file("model_int8.tflite").metrics["accuracy"]) <= 2 / 450
    assert accuracy["accuracy"] >= card.file(READY_FILE).metrics["accuracy"] - 1 / 450 - 1e-9


def test_fixed_batch_model_runs_any_batch_one_row_at_a_time(digits):
    runner = TfliteRunner(FOLDER / READY_FILE)
    together = runner.predict(digits.x_test[:5])
    alone = np.concatenate([runner.predict(digits.x_test[i : i + 1]) for i in range(5)])
    np.testing.assert_array_equal(together, alone)


def test_fixed_batch_model_refuses_a_batch_it_cannot_split(digits):
    runner = TfliteRunner(FOLDER / READY_FILE)
    with pytest.raises(ValueError, match="1 rows at a time; got 0"):
        runner.predict(digits.x_test[:0])
    runner._batch = 2  # what a signature with a fixed batch of 2 would give
    with pytest.raises(ValueError, match="2 rows at a time; got 3"):
        runner.predict(digits.x_test[:3])


def test_export_digits_edgetpu_refuses_a_missing_version(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        export.main(["digits-edgetpu", "--out", str(tmp_path), "--version", "3"])
    assert exit_info.value.code == 2
    assert "card.json does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_add_ready_model_rebuilds_only_its_file_and_entry(tmp_path):
    folder = tmp_path / "digits" / "1"
    shutil.copytree(FOLDER, folder)
    (folder / READY_FILE).unlink()
    before = json.loads((folder / "card.json").read_text())
    before["files"] = [f for f in before["files"] if f["path"] != READY_FILE]
    (folder / "card.json").write_text(json.dumps(before))
    card = add_ready_model(folder, log=lambda _: None)
    assert verify_files(read_card(folder / "card.json"), folder) == []
    after = json.loads((folder / "card.json").read_text())
    assert after["files"][:-1] == before["files"]
    assert {k: v for k, v in after.items() if k != "files"} == {
        k: v for k, v in before.items() if k != "files"
    }
    assert preflight(folder / READY_FILE).compatible
    assert card.file(READY_FILE).metrics["accuracy"] >= 0.96
    assert not [p.name for p in folder.iterdir() if p.suffix == ".part"]
