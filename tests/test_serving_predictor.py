"""Loading a model repository and checking batches against the card (serving/predictor.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from paths import MODELS

from mlops_course.model_card import TensorInfo
from mlops_course.serving import create_app
from mlops_course.serving.errors import ApiError
from mlops_course.serving.predictor import RepositoryError, check_batch


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("value_range", [None, (0.0, 1.0)], ids=["no-range", "range"])
def test_check_batch_finds_one_non_finite_value_anywhere(bad, value_range):
    tensor = TensorInfo("x", (None, 3), "float32")
    for where in [(0, 0), (1, 2), (0, 1)]:
        x = np.full((2, 3), 0.5, np.float32)
        x[where] = bad
        with pytest.raises(ApiError, match="NaN or infinity"):
            check_batch(x, tensor, 8, value_range)
    assert check_batch(np.full((2, 3), 0.5), tensor, 8, value_range).dtype == np.float32


def test_check_batch_realigns_a_tensor_that_starts_at_an_odd_byte():
    body = b"{" + np.arange(6, dtype="<f4").tobytes()  # as after a 1-byte JSON header
    x = np.frombuffer(memoryview(body)[1:], "<f4").reshape(2, 3)
    assert not x.flags.aligned
    checked = check_batch(x, TensorInfo("x", (None, 3), "float32"), 8)
    assert checked.flags.aligned and np.array_equal(checked, x)


def test_a_model_file_that_does_not_match_its_card_stops_the_start(tmp_path):
    shutil.copytree(MODELS / "diabetes", tmp_path / "diabetes")
    with open(tmp_path / "diabetes" / "1" / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RepositoryError, match="refusing to serve"):
        create_app(tmp_path)
    with pytest.raises(RepositoryError, match=r"no <name>/<version>/card\.json"):
        create_app(tmp_path / "diabetes" / "1")


def two_versions_of_diabetes(root: Path) -> Path:
    """``root/diabetes`` with versions 1 and 2 (the same files, version 2's card renumbered)."""
    shutil.copytree(MODELS / "diabetes" / "1", root / "diabetes" / "1")
    shutil.copytree(MODELS / "diabetes" / "1", root / "diabetes" / "2")
    card = root / "diabetes" / "2" / "card.json"
    card.write_text(card.read_text().replace('"version": 1', '"version": 2'))
    return root


def test_a_pinned_version_is_what_unversioned_requests_get(tmp_path):
    root = two_versions_of_diabetes(tmp_path)
    newest = create_app(root, default_model="diabetes").test_client()
    pinned = create_app(root, default_model="diabetes", default_version=1).test_client()
    x = {"inputs": [{"name": "features", "shape": [1, 10], "datatype": "FP32", "data": [0.0] * 10}]}
    assert newest.post("/v2/models/diabetes/infer", json=x).get_json()["model_version"] == "2"
    assert pinned.post("/v2/models/diabetes/infer", json=x).get_json()["model_version"] == "1"
    with pytest.raises(RepositoryError, match=r"pinned diabetes/3 is not in .* \[1, 2\]"):
        create_app(root, default_model="diabetes", default_version=3)
