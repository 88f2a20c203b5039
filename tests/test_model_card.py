"""Model cards: a valid card round-trips; every kind of bad card is rejected with a clear reason."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest

from mlops_course.model_card import (
    ModelCardError,
    read_card,
    sha256_file,
    validate_card,
    verify_files,
    write_card,
)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not really onnx, but bytes with a checksum")
    (tmp_path / "model_int8.tflite").write_bytes(b"int8 bytes")
    return tmp_path


def tensor(name="images", dtype="float32", **quant):
    return {
        "name": name,
        "shape": [None, 8, 8, 1] if name == "images" else [None, 10],
        "dtype": dtype,
        **quant,
    }


@pytest.fixture
def card(folder):
    def entry(path, fmt, precision, **io):
        return {
            "path": path,
            "format": fmt,
            "precision": precision,
            "size_bytes": (folder / path).stat().st_size,
            "sha256": sha256_file(folder / path),
            "input": io.get("input", tensor()),
            "output": io.get("output", tensor("probabilities")),
            "metrics": {"accuracy": 0.98},
        }

    return {
        "schema_version": 1,
        "name": "digits",
        "version": 1,
        "task": "classification",
        "description": "test card",
        "created": "2025-01-31T12:00:00Z",
        "default_file": "model.onnx",
        "preprocessing": {"layout": "NHWC", "scale": 0.0625},
        "labels": [str(d) for d in range(10)],
        "features": None,
        "training_data": {
            "source": "sklearn.datasets.load_digits",
            "n_train": 1347,
            "n_test": 450,
            "split_seed": 0,
        },
        "training": {"seed": 0},
        "code": {"package_version": "0.1.0", "git_commit": None},
        "files": [
            entry("model.onnx", "onnx", "fp32"),
            entry(
                "model_int8.tflite",
                "tflite",
                "int8-full",
                input=tensor(dtype="int8", scale=1 / 255, zero_point=-128),
                output=tensor("probabilities", dtype="int8", scale=1 / 256, zero_point=-128),
            ),
        ],
        "owner": "kept as an extra field",
    }


def test_valid_card_round_trips(card, folder):
    parsed = validate_card(card)
    assert parsed.input.name == "images" and parsed.input.shape == (None, 8, 8, 1)
    assert parsed.file("model_int8.tflite").input.zero_point == -128
    assert parsed.metrics == {"accuracy": 0.98}
    written = write_card(parsed, folder / "card.json")
    again = read_card(written)
    assert again == parsed
    assert json.loads(written.read_text())["owner"] == "kept as an extra field"
    assert verify_files(again, folder) == []


def test_max_batch_is_optional_and_kept_when_given(card, folder):
    assert validate_card(card).max_batch is None
    assert "max_batch" not in validate_card(card).to_dict()  # older cards are written unchanged
    limited = read_card(write_card(card | {"max_batch": 32}, folder / "card.json"))
    assert limited.max_batch == 32 and limited.to_dict()["max_batch"] == 32


def test_sha256_matches_hashlib(folder):
    data = (folder / "model.onnx").read_bytes()
    assert sha256_file(folder / "model.onnx") == hashlib.sha256(data).hexdigest()


def _set(card, dotted, value):
    target = card
    *parents, last = dotted.split(".")
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value


_DELETE = object()

BAD = [
    ("name", _DELETE, "name: missing"),
    ("name", "Digits v1", "name: use lowercase"),
    ("version", 0, "version: versions are integers starting at 1"),
    ("version", "1", "version: expected int, got str"),
    ("version", True, "version: expected int, got bool"),
    ("task", "clustering", "task: must be one of"),
    ("schema_version", 2, "schema_version: this code reads version 1"),
    ("created", "yesterday", "created: expected an ISO 8601 date"),
    ("labels", None, "labels: a classifier needs"),
    ("preprocessing.layout", "NCHW", "preprocessing.layout: must be one of"),
    ("preprocessing.scale", 0, "preprocessing.scale: must be > 0"),
    ("default_file", "missing.onnx", "default_file: 'missing.onnx' is not one of the files"),
    ("files", [], "files: a card describes at least one model file"),
    ("files.0.sha256", "abc123", "files[0].sha256: expected 64 lowercase hex"),
    ("files.0.size_bytes", -5, "files[0].size_bytes: must be > 0"),
    ("files.0.path", "../model.onnx", "files[0].path: must be a plain file name"),
    ("files.0.format", "pickle", "files[0].format: must be one of"),
    ("files.0.path", "model.tflite", "files[0].path: 'model.tflite' does not end in .onnx"),
    ("files.0.input", _DELETE, "files[0].input: missing"),
    ("files.0.input.dtype", "float64", "files[0].input.dtype: must be one of"),
    ("files.0.input.shape", [None, 0, 8, 1], "files[0].input.shape: dimensions must be positive"),
    ("files.1.input.scale", _DELETE, "files[1].input.scale: missing"),
    ("files.1.input.scale", -1.0, "files[1].input.scale: must be > 0"),
    ("files.0.metrics", {}, "files[0].metrics.accuracy: missing"),
    ("files.0.metrics.accuracy", 1.5, "files[0].metrics.accuracy: must be within [0, 1]"),
    ("files.0.metrics.accuracy", float("nan"), "files[0].metrics.accuracy: must be a finite"),
    ("files.0.output.shape", [None, 9], "files[0].output.shape: last dimension 9 != number"),
    ("code.git_commit", 42, "code.git_commit: expected str or NoneType"),
    ("max_batch", 0, "max_batch: a whole number >= 1 or null, got 0"),
    ("max_batch", "32", "max_batch: a whole number >= 1 or null, got '32'"),
    ("max_batch", True, "max_batch: a whole number >= 1 or null, got True"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD, ids=[b[0] + "-" + b[2][:20] for b in BAD]
)
def test_bad_card_is_rejected_with_a_clear_message(card, field, value, message):
    broken = copy.deepcopy(card)
    _set(broken, field, value)
    with pytest.raises(ModelCardError) as caught:
        validate_card(broken, source="card.json")
    assert message in str(caught.value)
    assert str(caught.value).startswith("card.json is not a valid model card")


def test_every_problem_is_listed_at_once(card):
    card["version"] = -1
    card["files"][0]["sha256"] = "nope"
    with pytest.raises(ModelCardError) as caught:
        validate_card(card)
    assert len(caught.value.problems) == 2


def test_duplicate_files_are_rejected(card):
    card["files"].append(copy.deepcopy(card["files"][0]))
    with pytest.raises(ModelCardError, match="file names repeat"):
        validate_card(card)


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "card.json"
    path.write_text("{not json")
    with pytest.raises(
        ModelCardError, match=r"(?s)card\.json is not a valid model card.*not valid JSON"
    ):
        read_card(path)
    with pytest.raises(ModelCardError, match="expected a JSON object"):
        validate_card([1, 2])


def test_verify_files_catches_tampering_and_missing_files(card, folder):
    parsed = validate_card(card)
    with open(folder / "model.onnx", "r+b") as handle:  # same size, one byte changed
        handle.write(b"N")
    (folder / "model_int8.tflite").unlink()
    problems = verify_files(parsed, folder)
    assert len(problems) == 2
    assert problems[0].startswith("model.onnx: sha256")
    assert problems[1].startswith("model_int8.tflite: missing")
