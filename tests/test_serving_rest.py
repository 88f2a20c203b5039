"""The plain REST routes (serving/rest.py) through Flask's test client: the answers of in-process
ONNX Runtime, and a clear 4xx for every bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import yaml
from paths import MODELS, ROOT
from serving_helpers import GOOD, MAX_BATCH, assert_clean_error, bomb_png, digit_png, png
from sklearn.datasets import load_digits

import mlops_course
from mlops_course.serving import create_app
from mlops_course.serving.context import EXTENSION


def test_tf_serving_predict_matches_onnx_runtime(client, digits, reference):
    x = digits.x_test[:20]
    answer = client.post("/v1/models/digits:predict", json={"instances": x.tolist()})
    assert answer.status_code == 200
    np.testing.assert_allclose(answer.get_json()["predictions"], reference.predict(x), rtol=1e-6)
    answer = client.post("/v1/models/digits/versions/1:predict", json={"instances": x.tolist()})
    assert answer.status_code == 200


def test_batch_runs_as_one_inference_call(app, client, digits, monkeypatch):
    model = app.extensions[EXTENSION].repository.get("digits")
    calls = []
    original = model.runner.predict
    monkeypatch.setattr(model.runner, "predict", lambda x: calls.append(len(x)) or original(x))
    client.post("/v1/models/digits:predict", json={"instances": digits.x_test[:25].tolist()})
    assert calls == [25]


def test_rendered_digit_upload_gets_the_models_label(client, digits, reference):
    raw = load_digits()
    for index in range(5):
        data = {"image": (io.BytesIO(digit_png(raw.data[index])), "digit.png")}
        answer = client.post("/predict", data=data, content_type="multipart/form-data")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        expected = reference.predict(raw.data[index].reshape(1, 8, 8, 1) / 16.0).argmax()
        prediction = answer.get_json()["predictions"][0]
        assert prediction["label"] == str(expected) == str(raw.target[index])
        assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-4


def test_json_predict_regression_and_metadata(client):
    row = [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    answer = client.post("/predict?model=diabetes", json={"instances": [row]})
    assert answer.status_code == 200
    assert set(answer.get_json()["predictions"][0]) == {"value"}
    cards = client.get("/metadata").get_json()["models"]
    assert {c["name"] for c in cards} == {"digits", "diabetes", "mobilenet"}
    meta = client.get("/v2/models/digits").get_json()
    assert meta["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 8, 8, 1]}]


def test_get_predict_shows_a_working_example(client):
    help_ = client.get("/predict").get_json()
    assert "curl -F image=@digit.png" in help_["post_image"]
    answer = client.post("/predict", json=help_["example_body"])
    assert answer.status_code == 200


def test_health_page_and_openapi(client):
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").get_json() == {"ready": True}
    assert client.get("/v2/models/digits/versions/1/ready").status_code == 200
    assert client.get("/v2").get_json()["extensions"] == ["binary_tensor_data"]
    page = client.get("/").get_data(as_text=True)
    assert "<canvas" in page and 'type="file"' in page
    spec = client.get("/openapi.yaml")
    path = ROOT / "src" / "mlops_course" / "serving" / "openapi.yaml"
    text = path.read_text().replace("PACKAGE_VERSION", mlops_course.__version__)
    assert spec.status_code == 200 and spec.get_data(as_text=True) == text
    assert yaml.safe_load(text)["info"]["version"] == mlops_course.__version__


BAD_JSON = [
    ("/predict", b'{"instances": [1, 2', 400),
    ("/predict", json.dumps({"instances": [[[[0.5]] * 8] * 7]}), 400),  # wrong shape
    ("/predict", json.dumps({"instances": [[[["a"]] * 8] * 8]}), 400),  # strings
    ("/predict", json.dumps({"instances": [[[[None]] * 8] * 8]}), 400),
    (
        "/predict",
        '{"instances": [[[[NaN]]]]}'.replace(
            "[[[[NaN]]]]", str([[[[0.1]] * 8] * 7 + [[[float("nan")]] * 8]]).replace("nan", "NaN")
        ),
        400,
    ),
    ("/predict", json.dumps({"instances": [[[[1e400]] * 8] * 8]}).replace("inf", "1e400"), 400),
    ("/predict", json.dumps({"instances": [[[[16.0]] * 8] * 8]}), 400),  # outside [0, 1]
    ("/predict", json.dumps({"instancez": []}), 400),
    ("/predict", json.dumps([1, 2, 3]), 400),
    ("/predict", json.dumps({"instances": []}), 400),  # empty batch
    ("/predict", json.dumps({"instances": [[[[0.5]] * 8] * 8] * (MAX_BATCH + 1)}), 413),
    ("/predict", json.dumps({"instances": [[1, 2], [3]]}), 400),  # ragged
    ("/predict", "[" * 100_000 + "]" * 100_000, 400),  # deeply nested
    ("/predict", b"\xff\xfe\x00garbage", 400),
    ("/predict?model=nope", json.dumps(GOOD), 404),
    ("/predict?version=7", json.dumps(GOOD), 404),
    ("/v1/models/digits/versions/x:predict", json.dumps(GOOD), 404),
    ("/v1/models/nope:predict", json.dumps(GOOD), 404),
    ("/v1/models/digits:predict", json.dumps({"instances": "zero"}), 400),
]


@pytest.mark.parametrize(("path", "body", "status"), BAD_JSON)
def test_bad_json_gets_a_clear_error(client, path, body, status):
    answer = client.post(path, data=body, content_type="application/json")
    assert_clean_error(answer, status)
    assert client.get("/v2/health/ready").status_code == 200


UPLOADS = [
    (b"just some text", 400),
    (b"", 400),
    (png(np.random.default_rng(0).integers(0, 256, (64, 64)))[:2000], 400),  # truncated PNG
    (b"GIF89a" + b"\0" * 20, 400),
    (bomb_png(), 413),  # declares 10^10 pixels; must be refused before decoding
    (bomb_png(3000, 3000), 413),  # over the server's own pixel limit, under Pillow's
]


@pytest.mark.parametrize(
    ("data", "status"), UPLOADS, ids=["text", "empty", "truncated", "gif-junk", "bomb", "big"]
)
def test_bad_upload_gets_a_clear_error(data, status):
    client = create_app(MODELS, max_image_pixels=4_000_000).test_client()
    answer = client.post(
        "/predict", data={"image": (io.BytesIO(data), "x.png")}, content_type="multipart/form-data"
    )
    assert_clean_error(answer, status)
