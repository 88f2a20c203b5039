"""mlops_course.model_repository: the staging-and-swap helper, provenance, file entries,
load_keras, and the command-line arguments every model builder shares."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlops_course import model_repository as repo
from mlops_course.data import load_digits_split
from mlops_course.project import git_commit
from mlops_course.runtime import OnnxRunner

COMMITTED = Path(__file__).resolve().parents[1] / "models" / "digits" / "1"


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


@pytest.fixture
def old_version(tmp_path) -> Path:
    target = tmp_path / "digits" / "1"
    target.mkdir(parents=True)
    (target / "model.onnx").write_text("old model")
    (target / "card.json").write_text("old card")
    return target


# --- staged_folder ------------------------------------------------------------------------


def test_a_finished_build_replaces_the_old_version_and_leaves_no_staging(old_version):
    with repo.staged_folder(old_version) as staging:
        assert staging.parent == old_version.parent and staging.name.startswith(".1-")
        (staging / "model.onnx").write_text("new model")
        (staging / "card.json").write_text("new card")
        assert _files(old_version) == {"card.json": "old card", "model.onnx": "old model"}
    assert _files(old_version) == {"card.json": "new card", "model.onnx": "new model"}
    assert [p.name for p in old_version.parent.iterdir()] == ["1"]
    assert old_version.stat().st_mode & 0o777 == 0o755


def test_a_failure_mid_build_leaves_the_old_version_untouched_and_no_staging(old_version):
    with pytest.raises(RuntimeError, match="conversion failed"):
        with repo.staged_folder(old_version) as staging:
            (staging / "model.onnx").write_text("half a new model")
            raise RuntimeError("conversion failed")
    assert _files(old_version) == {"card.json": "old card", "model.onnx": "old model"}
    assert [p.name for p in old_version.parent.iterdir()] == ["1"]


def test_a_failed_first_build_creates_no_version(tmp_path):
    target = tmp_path / "models" / "diabetes" / "3"
    with pytest.raises(KeyboardInterrupt):
        with repo.staged_folder(target) as staging:
            (staging / "model.onnx").write_text("half")
            raise KeyboardInterrupt
    assert list(target.parent.iterdir()) == []


def test_a_failed_swap_puts_the_old_version_back(old_version, monkeypatch):
    rename = Path.rename

    def refuse_staging(self, target):
        if self.name.startswith(".1-") and "-old-" not in self.name:
            raise OSError("disk trouble")
        return rename(self, target)

    with pytest.raises(OSError, match="disk trouble"):
        with repo.staged_folder(old_version) as staging:
            (staging / "model.onnx").write_text("new model")
            monkeypatch.setattr(Path, "rename", refuse_staging)
    assert _files(old_version) == {"card.json": "old card", "model.onnx": "old model"}
    assert [p.name for p in old_version.parent.iterdir()] == ["1"]


# --- provenance and file entries -----------------------------------------------------------


def test_created_timestamp_follows_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert repo.created_timestamp() == "2023-11-14T22:13:20Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert repo.created_timestamp().endswith("Z") and "." not in repo.created_timestamp()


def test_code_info_names_the_package_commit_and_entry_point():
    info = repo.code_info("python -m mlops_course.export all")
    assert info["git_commit"] == git_commit(repo.PACKAGE_DIR)
    assert info["entry_point"] == "python -m mlops_course.export all"
    assert info["package"] == "mlops_course"


def test_split_info_records_the_split():
    info = repo.split_info("sklearn.datasets.load_digits", load_digits_split(), stratified=True)
    assert (info["n_train"], info["n_test"], info["split_seed"]) == (1347, 450, 0)


def test_describe_file_of_the_committed_int8_tflite(tmp_path):
    shutil.copy(COMMITTED / "model_int8.tflite", tmp_path)
    entry = repo.describe_file(tmp_path, "model_int8.tflite", "int8-full", {"accuracy": 1.0})
    assert (entry["format"], entry["precision"]) == ("tflite", "int8-full")
    assert entry["metrics"] == {"accuracy": 1.0}
    assert entry["size_bytes"] == (COMMITTED / "model_int8.tflite").stat().st_size
    assert entry["input"]["dtype"] == "int8" and "scale" in entry["input"]


# --- load_keras ----------------------------------------------------------------------------


def test_load_keras_refuses_a_network_that_is_not_the_cards(tmp_path):
    folder = shutil.copytree(COMMITTED, tmp_path / "1")
    with open(folder / "model.keras", "ab") as file:
        file.write(b"\0")
    with pytest.raises(ValueError, match="is not the card's"):
        repo.load_keras(folder)


def test_load_keras_gives_the_network_behind_the_committed_exports(digits):
    model = repo.load_keras(COMMITTED)
    keras = model(digits.x_test, training=False).numpy()
    onnx = OnnxRunner(COMMITTED / "model.onnx").predict(digits.x_test)
    np.testing.assert_allclose(keras, onnx, atol=1e-5)


# --- command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minimum", "message"),
    [("0", 1, "got 0"), ("-3", 0, "got -3"), ("many", 1, "got 'many'"), ("1.5", 1, "got '1.5'")],
)
def test_whole_number_refuses_clearly(text, minimum, message):
    with pytest.raises(argparse.ArgumentTypeError, match=f">= {minimum}, {message}"):
        repo.whole_number(minimum)(text)
    assert repo.whole_number(minimum)(str(minimum)) == minimum


def test_repository_arguments_have_the_documented_defaults(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    repo.add_repository_arguments(parser, 7, "epochs")
    args = parser.parse_args(["--out", str(tmp_path)])
    assert (args.out, args.version, args.seed, args.epochs) == (tmp_path, 1, 0, 7)
    repo.check_repository_arguments(parser, args)
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        repo.check_repository_arguments(
            parser, parser.parse_args(["--out", str(tmp_path / "file")])
        )
    assert "exists and is not a folder" in capsys.readouterr().err
