"""The real thing: gunicorn on 127.0.0.1 as a child process, spoken to over HTTP by ``requests``
and by ``tritonclient.http`` (a standard Open Inference Protocol client, unchanged).
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from paths import MODELS, ROOT
from PIL import Image
from sklearn.datasets import load_digits
from tritonclient.utils import InferenceServerException

from mlops_course.loadgen import v2_body
from mlops_course.mobilenet import upsample_digits
from mlops_course.runtime import OnnxRunner
from mlops_course.server_process import ServerProcess, free_port, gunicorn_server

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(MODELS, MAX_CONTENT_LENGTH=str(LIMIT), MAX_BATCH="128") as running:
        yield running
    assert not running.alive()


@pytest.fixture(scope="module")
def client(server):
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def test_health_and_metadata_with_tritonclient(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("digits") and client.is_model_ready("digits", "1")
    assert not client.is_model_ready("digits", "9")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    meta = client.get_model_metadata("digits")
    assert meta["inputs"][0] == {"name": "images", "datatype": "FP32", "shape": [-1, 8, 8, 1]}


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_infer_matches_onnx_runtime(client, digits, reference, binary):
    x = digits.x_test[:64]
    tensor = triton.InferInput("images", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    wanted = triton.InferRequestedOutput("probabilities", binary_data=binary)
    result = client.infer("digits", [tensor], outputs=[wanted], model_version="1")
    np.testing.assert_allclose(result.as_numpy("probabilities"), reference.predict(x), rtol=1e-6)
    parameters = result.get_response()["outputs"][0].get("parameters", {})
    assert ("binary_data_size" in parameters) is binary
    default = client.infer("digits", [tensor])  # no outputs named: all of them, binary
    np.testing.assert_allclose(default.as_numpy("probabilities"), reference.predict(x), rtol=1e-6)


def test_tritonclient_sees_clear_errors(client):
    tensor = triton.InferInput("images", [1, 8, 8], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(InferenceServerException, match="shape") as error:
        client.infer("digits", [tensor])
    assert error.value.status() == "400"
    with pytest.raises(InferenceServerException, match="unknown model") as error:
        client.infer("nope", [tensor])
    assert error.value.status() == "404"


def test_requests_upload_and_tf_serving(server, digits, reference):
    raw = load_digits()
    buffer = io.BytesIO()
    ink = np.kron(raw.data[7].reshape(8, 8), np.ones((8, 8))) / 16
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(buffer, format="PNG")
    answer = requests.post(f"{server.url}/predict", files={"image": ("d.png", buffer.getvalue())})
    assert answer.status_code == 200
    assert answer.json()["predictions"][0]["label"] == str(raw.target[7])
    x = digits.x_test[:8]
    answer = requests.post(f"{server.url}/v1/models/digits:predict", json={"instances": x.tolist()})
    np.testing.assert_allclose(answer.json()["predictions"], reference.predict(x), rtol=1e-6)


def test_body_over_the_limit_is_413(server):
    answer = requests.post(
        f"{server.url}/predict",
        data=b"[" * (LIMIT + 1),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 413 and "limit" in answer.json()["error"]


def test_tritonclient_sends_uint8_pixels_within_the_models_batch_limit(client, digits):
    meta = client.get_model_metadata("mobilenet")["inputs"][0]
    assert meta == {"name": "images", "datatype": "UINT8", "shape": [-1, 96, 96, 3]}
    pixels = upsample_digits(digits.x_test[:8], "uint8")
    tensor = triton.InferInput("images", list(pixels.shape), "UINT8")
    tensor.set_data_from_numpy(pixels, binary_data=True)
    expected = OnnxRunner(MODELS / "mobilenet" / "1" / "model.onnx").predict(pixels)
    np.testing.assert_allclose(
        client.infer("mobilenet", [tensor]).as_numpy("probabilities"), expected, rtol=1e-5
    )
    too_many = np.zeros((33, 96, 96, 3), np.uint8)  # the card's max_batch is 32; 0.9 MB
    tensor = triton.InferInput("images", list(too_many.shape), "UINT8")
    tensor.set_data_from_numpy(too_many, binary_data=True)
    with pytest.raises(InferenceServerException, match="33 instances exceeds the limit of 32") as e:
        client.infer("mobilenet", [tensor])
    assert e.value.status() == "413"


def test_still_healthy_after_a_barrage_of_bad_input(server):
    nan_body, nan_headers = v2_body(np.full((2, 8, 8, 1), np.nan), "images", binary=True)
    bad = [
        ("/predict", {"data": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("/predict", {"files": {"image": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40)}}),
        ("/predict", {"data": b"plain", "headers": {"Content-Type": "text/plain"}}),
        ("/v2/models/digits/infer", {"data": nan_body, "headers": nan_headers}),
        ("/v2/models/digits/infer", {"data": nan_body[:-3], "headers": nan_headers}),
        ("/v2/models/digits/infer", {"data": b"[" * 200_000}),
        ("/v1/models/digits:predict", {"json": {"instances": [[[[0.5]] * 8] * 8] * 129}}),
        ("/v1/models/digits:predict", {"json": {"instances": [[[["1"]] * 8] * 8]}}),
    ]
    for _ in range(3):
        for path, kwargs in bad:
            answer = requests.post(server.url + path, timeout=10, **kwargs)
            assert 400 <= answer.status_code < 500, (path, answer.text)
            assert set(answer.json()) == {"error"}
    assert requests.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200
    assert server.alive()
    metrics = requests.get(f"{server.url}/metrics", timeout=5).text
    assert "http_errors_total" in metrics
    assert "Traceback" not in server.log()


def test_make_serve_starts_the_server_on_the_requested_port():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    command = ["make", "--no-print-directory", "serve", f"PORT={port}"]
    with ServerProcess(command, port, cwd=ROOT) as running:
        answer = requests.get(f"{running.url}/v2/models/digits", timeout=5)
        assert json.loads(answer.text)["name"] == "digits"


def test_a_bad_model_repository_stops_gunicorn_with_the_reason(tmp_path):
    with pytest.raises(RuntimeError, match=r"no <name>/<version>/card\.json") as error:
        gunicorn_server(tmp_path, workers=1).start()
    assert "server exited" in str(error.value)
