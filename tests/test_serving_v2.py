"""The Open Inference Protocol routes (serving/v2.py) through Flask's test client: JSON and binary
tensors give in-process ONNX Runtime's answers; every bad request a clear 4xx."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from paths import MODELS
from serving_helpers import MAX_BATCH, assert_clean_error, digit_png, make_app, v2
from sklearn.datasets import load_digits

from mlops_course.loadgen import v2_body
from mlops_course.mobilenet import upsample_digits
from mlops_course.runtime import OnnxRunner
from mlops_course.serving.errors import PayloadTooLarge
from mlops_course.serving.predictor import load_version
from mlops_course.serving.protocol import HEADER_LENGTH


def test_v2_json_and_binary_match_onnx_runtime(client, digits, reference):
    x = digits.x_test[:16]
    expected = reference.predict(x)
    answer = client.post("/v2/models/digits/versions/1/infer", json=v2(x) | {"id": "r1"})
    body = answer.get_json()
    assert answer.status_code == 200 and body["id"] == "r1" and body["model_version"] == "1"
    assert body["outputs"][0]["shape"] == [16, 10] and body["outputs"][0]["datatype"] == "FP32"
    np.testing.assert_allclose(
        np.reshape(body["outputs"][0]["data"], (16, 10)), expected, rtol=1e-6
    )
    data, headers = v2_body(x, "images", binary=True)
    answer = client.post("/v2/models/digits/infer", data=data, headers=headers)
    assert answer.status_code == 200
    length = int(answer.headers[HEADER_LENGTH])
    meta = json.loads(answer.data[:length])
    assert meta["outputs"][0]["parameters"]["binary_data_size"] == expected.nbytes
    np.testing.assert_array_equal(
        np.frombuffer(answer.data[length:], "<f4").reshape(16, 10), expected
    )


def test_the_heavy_model_is_served_like_the_others(client, digits):
    x = upsample_digits(digits.x_test[:2], "uint8")
    floats, headers = v2_body(upsample_digits(digits.x_test[:2]), "images", binary=True)
    answer = client.post("/v2/models/mobilenet/infer", data=floats, headers=headers)
    assert_clean_error(answer, 400)
    assert "must have datatype UINT8, got FP32" in answer.get_json()["error"]
    data, headers = v2_body(x, "images", binary=True)
    answer = client.post("/v2/models/mobilenet/infer", data=data, headers=headers)
    assert answer.status_code == 200
    expected = OnnxRunner(MODELS / "mobilenet" / "1" / "model.onnx").predict(x)
    length = int(answer.headers[HEADER_LENGTH])
    np.testing.assert_array_equal(
        np.frombuffer(answer.data[length:], "<f4").reshape(2, 10), expected
    )
    mobilenet = load_version(MODELS / "mobilenet" / "1")
    limit = mobilenet.card.max_batch
    assert mobilenet.check(np.zeros((limit, 96, 96, 3), np.uint8), max_batch=256).shape[0] == limit
    with pytest.raises(PayloadTooLarge, match=f"batch of {limit + 1} instances exceeds the limit"):
        mobilenet.check(np.zeros((limit + 1, 96, 96, 3), np.uint8), max_batch=256)
    upload = {"image": (io.BytesIO(digit_png(load_digits().data[0])), "d.png")}
    answer = client.post("/predict?model=mobilenet", data=upload)
    assert_clean_error(answer, 400)
    assert "send JSON" in answer.get_json()["error"]


BAD_JSON = [
    ("/v2/models/digits/infer", b"not json", 400),
    ("/v2/models/digits/infer", json.dumps({"inputs": []}), 400),
    ("/v2/models/digits/infer", json.dumps({"outputs": []}), 400),
    ("/v2/models/digits/infer", json.dumps({"inputs": [{"name": "images"}]}), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8)))), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((2, 8, 8, 1)))).replace("[2,", "[3,"), 400),
    (
        "/v2/models/digits/infer",
        json.dumps(v2(np.zeros((1, 8, 8, 1))) | {"outputs": [{"name": "x"}]}),
        400,
    ),
    (
        "/v2/models/digits/infer",
        json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("FP32", "BYTES"),
        400,
    ),
    (
        "/v2/models/digits/infer",
        json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("FP32", "INT64"),
        400,
    ),
    (
        "/v2/models/digits/infer",
        json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("images", "pixels"),
        400,
    ),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((0, 8, 8, 1)))), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((MAX_BATCH + 1, 8, 8, 1)))), 413),
    (
        "/v2/models/digits/infer",
        json.dumps(
            {"inputs": [{"name": "images", "shape": [1] * 99, "datatype": "FP32", "data": [1]}]}
        ),
        400,
    ),
    (
        "/v2/models/digits/infer",
        json.dumps(
            {"inputs": [{"name": "images", "shape": [10**12, 64], "datatype": "FP32", "data": [1]}]}
        ),
        400,
    ),
    ("/v2/models/digits/versions/2/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))), 404),
    ("/v2/models/nope/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))), 404),
]


@pytest.mark.parametrize(("path", "body", "status"), BAD_JSON)
def test_bad_json_gets_a_clear_error(client, path, body, status):
    answer = client.post(path, data=body, content_type="application/json")
    assert_clean_error(answer, status)
    assert client.get("/v2/health/ready").status_code == 200


def test_binary_tensor_mistakes(client):
    x = np.zeros((2, 8, 8, 1), np.float32)
    body, headers = v2_body(x, "images", binary=True)
    cases = [
        (body, {**headers, HEADER_LENGTH: str(len(body) + 1)}),  # header longer than body
        (body, {**headers, HEADER_LENGTH: "-5"}),
        (body, {**headers, HEADER_LENGTH: "12"}),  # cuts the JSON header
        (body + b"\0\0\0\0", headers),  # bytes nobody claims
        (body[:-4], headers),  # fewer bytes than binary_data_size
        (body.replace(b'"binary_data_size": 512', b'"binary_data_size": 510'), headers),
    ]
    for data, extra in cases:
        assert_clean_error(client.post("/v2/models/digits/infer", data=data, headers=extra), 400)
    nan = np.full((1, 8, 8, 1), np.nan, np.float32)
    data, extra = v2_body(nan, "images", binary=True)
    assert "NaN" in assert_clean_error(
        client.post("/v2/models/digits/infer", data=data, headers=extra), 400
    )


def test_infer_is_counted_by_route_template(digits):
    client = make_app().test_client()
    data, headers = v2_body(digits.x_test[:4], "images", binary=True)
    answer = client.post("/v2/models/digits/versions/1/infer", data=data, headers=headers)
    assert answer.status_code == 200
    assert_clean_error(client.post("/v2/models/nope/infer", data=data, headers=headers), 404)
    text = client.get("/metrics").get_data(as_text=True)
    route = 'route="/v2/models/<name>/versions/<version>/infer"'
    assert f'http_requests_total{{code="200",method="POST",{route}}} 1.0' in text
    assert f"http_request_duration_seconds_count{{{route}}} 1.0" in text
    assert 'http_errors_total{code="404"} 1.0' in text
    assert 'inference_batch_size_count{model="digits"} 1.0' in text


def test_infer_takes_only_post_on_its_exact_path(client):
    assert_clean_error(client.get("/v2/models/digits/infer"), 405)
    assert_clean_error(client.post("/v2/models/digits/infer/more", data=b"{}"), 404)
