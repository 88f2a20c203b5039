"""The model server through Flask's test client: right answers, and a clear 4xx for bad input.

The trusted reference is ONNX Runtime called directly on the same file; every bad input from
the issue is sent and must come back as JSON ``{"error": ...}`` with a 4xx and no traceback.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from sklearn.datasets import load_digits

import mlops_course
from mlops_course.mobilenet import upsample_digits
from mlops_course.model_card import TensorInfo
from mlops_course.runtime import OnnxRunner
from mlops_course.serving import create_app
from mlops_course.serving.config import ServingConfig, config_from_env
from mlops_course.serving.errors import ApiError, PayloadTooLarge
from mlops_course.serving.images import digit_pixels
from mlops_course.serving.loadgen import binary_header, v2_body
from mlops_course.serving.predictor import RepositoryError, check_batch, load_version
from mlops_course.serving.protocol import HEADER_LENGTH, parse_infer_request
from mlops_course.serving.v2 import InferFastPath

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
MAX_BATCH = 32


@pytest.fixture(scope="module")
def app():
    return create_app(MODELS, max_batch=MAX_BATCH, max_content_length=256 * 1024)


@pytest.fixture
def client(app):
    return app.test_client()


def png(array: np.ndarray) -> bytes:
    """A PNG of a uint8 greyscale array."""
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_png(pixels_0_16: np.ndarray, scale: int = 8) -> bytes:
    """A load_digits image drawn as dark ink on white paper, ``scale`` × larger."""
    ink = np.kron(pixels_0_16.reshape(8, 8), np.ones((scale, scale))) / 16.0
    return png(np.round(255 * (1.0 - ink)))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares a gigantic image (a decompression bomb's header)."""
    data = bytearray(png(np.zeros((1, 1))))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def v2(x, **extra):
    return {"inputs": [{"name": "images", "shape": list(np.shape(x)), "datatype": "FP32",
                        "data": np.asarray(x).ravel().tolist(), **extra}]}  # fmt: skip


def assert_clean_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    message = response.get_json()["error"]
    assert isinstance(message, str) and message
    return message


# --- right answers ------------------------------------------------------------------------


def test_tf_serving_predict_matches_onnx_runtime(client, digits, reference):
    x = digits.x_test[:20]
    answer = client.post("/v1/models/digits:predict", json={"instances": x.tolist()})
    assert answer.status_code == 200
    np.testing.assert_allclose(answer.get_json()["predictions"], reference.predict(x), rtol=1e-6)
    answer = client.post("/v1/models/digits/versions/1:predict", json={"instances": x.tolist()})
    assert answer.status_code == 200


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


def test_binary_header_lets_the_server_use_the_tensor_where_it_lies(client, digits, reference):
    """binary_caller's and the benchmark's body: the padded header leaves the tensor aligned in
    the body, so the parsed input is a view of it (no copy); the answer is in-process's."""
    x = np.ascontiguousarray(digits.x_test[:3], "<f4")
    header, headers = binary_header(x, "images", "probabilities")
    body = header + x.tobytes()
    assert len(header) % 16 == 0 and headers["Content-Length"] == str(len(body))
    parsed = parse_infer_request(body, headers[HEADER_LENGTH]).inputs["images"]
    assert parsed.flags.aligned and np.shares_memory(parsed, np.frombuffer(body, np.uint8))
    answer = client.post("/v2/models/digits/infer", data=body, headers=headers)
    length = int(answer.headers[HEADER_LENGTH])
    y = np.frombuffer(answer.data[length:], "<f4").reshape(3, 10)
    np.testing.assert_array_equal(y, reference.predict(x))


def test_batch_runs_as_one_inference_call(app, client, digits, monkeypatch):
    model = app.extensions["serving"].repository.get("digits")
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


def test_digit_pixels_invert_the_rendering_exactly():
    raw = load_digits().data[:10]
    for pixels in raw:
        picture = Image.open(io.BytesIO(digit_png(pixels)))
        np.testing.assert_allclose(digit_pixels(picture), pixels.reshape(8, 8) / 16, atol=1 / 255)
    white_ink = Image.fromarray(
        np.kron(np.round(raw[0] * 255 / 16).reshape(8, 8), np.ones((4, 4))).astype("u1")
    )
    np.testing.assert_allclose(digit_pixels(white_ink), raw[0].reshape(8, 8) / 16, atol=1 / 255)


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


def test_metrics_count_requests_latency_and_errors(client):
    client.get("/v2/models/nope")
    client.post("/v1/models/digits:predict", json={"instances": [[[[0.0]] * 8] * 8]})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_errors_total{code="404"}' in text
    route = 'route="/v1/models/<name>:predict"'
    assert f'http_request_duration_seconds_bucket{{le="0.001",{route}}}' in text
    assert 'inference_batch_size_count{model="digits"}' in text


def test_each_app_has_its_own_metrics_registry(app):
    other = create_app(MODELS)
    other.test_client().get("/v2/health/live")
    ours = app.extensions["serving"].metrics.registry
    assert ours is not other.extensions["serving"].metrics.registry


# --- bad input ----------------------------------------------------------------------------

GOOD = {"instances": [[[[0.5]] * 8] * 8]}
BAD_JSON = [
    ("/predict", b'{"instances": [1, 2', 400),
    ("/predict", json.dumps({"instances": [[[[0.5]] * 8] * 7]}), 400),  # wrong shape
    ("/predict", json.dumps({"instances": [[[["a"]] * 8] * 8]}), 400),  # strings
    ("/predict", json.dumps({"instances": [[[[None]] * 8] * 8]}), 400),
    ("/predict", '{"instances": [[[[NaN]]]]}'.replace("[[[[NaN]]]]", str([[[[0.1]] * 8] * 7 + [[[float("nan")]] * 8]]).replace("nan", "NaN")), 400),  # noqa: E501
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
    ("/v2/models/digits/infer", b"not json", 400),
    ("/v2/models/digits/infer", json.dumps({"inputs": []}), 400),
    ("/v2/models/digits/infer", json.dumps({"outputs": []}), 400),
    ("/v2/models/digits/infer", json.dumps({"inputs": [{"name": "images"}]}), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8)))), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((2, 8, 8, 1)))).replace("[2,", "[3,"), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8, 1))) | {"outputs": [{"name": "x"}]}), 400),  # noqa: E501
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("FP32", "BYTES"), 400),  # noqa: E501
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("FP32", "INT64"), 400),  # noqa: E501
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))).replace("images", "pixels"), 400),  # noqa: E501
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((0, 8, 8, 1)))), 400),
    ("/v2/models/digits/infer", json.dumps(v2(np.zeros((MAX_BATCH + 1, 8, 8, 1)))), 413),
    ("/v2/models/digits/infer", json.dumps({"inputs": [{"name": "images", "shape": [1] * 99, "datatype": "FP32", "data": [1]}]}), 400),  # noqa: E501
    ("/v2/models/digits/infer", json.dumps({"inputs": [{"name": "images", "shape": [10**12, 64], "datatype": "FP32", "data": [1]}]}), 400),  # noqa: E501
    ("/v2/models/digits/versions/2/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))), 404),
    ("/v2/models/nope/infer", json.dumps(v2(np.zeros((1, 8, 8, 1)))), 404),
]  # fmt: skip


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
    answer = client.post("/predict", data={"image": (io.BytesIO(data), "x.png")},
                         content_type="multipart/form-data")  # fmt: skip
    assert_clean_error(answer, status)


def test_other_request_mistakes(client):
    good = json.dumps(GOOD)
    assert_clean_error(client.post("/predict", data=good, content_type="text/plain"), 415)
    assert_clean_error(client.post("/v1/models/digits:predict", data=good), 415)
    gz = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert_clean_error(client.post("/v1/models/digits:predict", data=good, headers=gz), 415)
    form = {"picture": (io.BytesIO(b"x"), "x.png")}
    assert_clean_error(client.post("/predict", data=form, content_type="multipart/form-data"), 400)
    big = b"0" * (256 * 1024 + 1)
    assert "limit" in assert_clean_error(
        client.post("/predict", data=big, content_type="application/json"), 413
    )
    assert_clean_error(client.delete("/predict"), 405)
    assert_clean_error(client.get("/no/such/route"), 404)
    assert_clean_error(client.get("/v2/models/digits/versions/%C2%B2"), 404)


def call_wsgi(app, body: bytes, headers: dict[str, str], length: str | None) -> tuple[int, bytes]:
    """POST ``body`` to the v2 infer route with a hand-made WSGI environ (``length``: the
    Content-Length header, None for a chunked body that gunicorn has de-chunked)."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v2/models/digits/infer", "SERVER_NAME": "t",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "CONTENT_TYPE": headers["Content-Type"], "wsgi.input_terminated": length is None,
        "HTTP_INFERENCE_HEADER_CONTENT_LENGTH": headers.get(HEADER_LENGTH, ""),
    }  # fmt: skip
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    status = []
    chunks = app(environ, lambda code, _headers, exc_info=None: status.append(code))
    return int(status[0].split()[0]), b"".join(chunks)


def test_the_body_is_read_whole_and_checked_against_its_length(app, digits):
    data, headers = v2_body(digits.x_test[:2], "images", binary=True)
    assert call_wsgi(app, data, headers, str(len(data)))[0] == 200
    assert call_wsgi(app, data, headers, None)[0] == 200  # chunked: no Content-Length
    code, answer = call_wsgi(app, data[:-5], headers, str(len(data)))  # client gave up early
    assert code == 400 and "announced" in json.loads(answer)["error"]
    code, answer = call_wsgi(app, data, headers, str(256 * 1024 + 1))  # refused before reading
    assert code == 413 and "limit" in json.loads(answer)["error"]


def test_a_server_fault_is_logged_but_not_shown(app, client, monkeypatch, caplog):
    model = app.extensions["serving"].repository.get("digits")
    monkeypatch.setattr(model.runner, "predict", lambda x: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="mlops_course.serving"):
        answer = client.post("/predict", json=GOOD)
    message = assert_clean_error(answer, 500)
    assert "ZeroDivision" not in message
    assert "ZeroDivisionError" in caplog.text


# --- start-up and settings ----------------------------------------------------------------


def test_a_model_file_that_does_not_match_its_card_stops_the_start(tmp_path):
    shutil.copytree(MODELS / "diabetes", tmp_path / "diabetes")
    with open(tmp_path / "diabetes" / "1" / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RepositoryError, match="refusing to serve"):
        create_app(tmp_path)
    with pytest.raises(RepositoryError, match=r"no <name>/<version>/card\.json"):
        create_app(tmp_path / "diabetes" / "1")


def test_settings_come_from_the_environment():
    config = config_from_env({"MODEL_REPOSITORY": "elsewhere", "MAX_BATCH": "7"})
    assert config.model_repository == Path("elsewhere") and config.max_batch == 7
    assert config_from_env({}) == ServingConfig()
    with pytest.raises(ValueError, match="max_batch"):
        ServingConfig(max_batch=0)


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


def test_the_pin_comes_from_the_environment():
    assert config_from_env({"DEFAULT_MODEL_VERSION": "2"}).default_version == 2
    assert config_from_env({}).default_version is None


def test_providers_come_from_the_environment_and_must_exist():
    config = config_from_env({"ORT_PROVIDERS": "CUDAExecutionProvider, CPUExecutionProvider"})
    assert config.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    with pytest.raises(ValueError, match="at least one"):
        config_from_env({"ORT_PROVIDERS": " , "})
    with pytest.raises(ValueError, match=r"has no \['NoSuchExecutionProvider'\]"):
        create_app(MODELS, providers=("NoSuchExecutionProvider", "CPUExecutionProvider"))


@pytest.fixture(scope="module")
def flask_only():
    """The same app with POST .../infer answered by the Flask view, not InferFastPath."""
    return create_app(MODELS, max_batch=MAX_BATCH, max_content_length=256 * 1024, fast_infer=False)


def infer_requests(digits) -> list[tuple[str, bytes, dict]]:
    """Good and bad infer requests: every case of BAD_JSON and test_binary_tensor_mistakes."""
    cases = [(path, body, {"Content-Type": "application/json"})
             for path, body, _ in BAD_JSON if path.startswith("/v2")]  # fmt: skip
    x = digits.x_test[:4]
    body, headers = v2_body(x, "images", binary=True)
    cases += [
        ("/v2/models/digits/infer", json.dumps(v2(x) | {"id": "a"}), {}),
        ("/v2/models/digits/versions/1/infer", body, headers),
        ("/v2/models/digits/versions/%C2%B2/infer", body, headers),
        ("/v2/models/digits/infer", body, {**headers, "Content-Encoding": "gzip"}),
        ("/v2/models/digits/infer", b"0" * (256 * 1024 + 1), {}),
        ("/v2/models/digits/infer", body[:-4], headers),
        ("/v2/models/digits/infer", body, {**headers, HEADER_LENGTH: "-5"}),
        ("/v2/models/digits/infer", body + b"\0\0\0\0", headers),
        ("/v2/models/mobilenet/infer", *v2_body(upsample_digits(x[:1], "uint8"), "images", True)),
        ("/v2/models/mobilenet/infer", *v2_body(upsample_digits(x[:1]), "images", True)),
    ]
    return [(path, body if isinstance(body, bytes) else body.encode(), headers)
            for path, body, headers in cases]  # fmt: skip


def test_fast_path_answers_exactly_as_the_flask_view(app, flask_only, digits):
    fast, slow = app.test_client(), flask_only.test_client()
    assert isinstance(app.wsgi_app, InferFastPath)
    assert not isinstance(flask_only.wsgi_app, InferFastPath)
    for path, body, headers in infer_requests(digits):
        answers = [c.post(path, data=body, headers=headers) for c in (fast, slow)]
        assert answers[0].status_code == answers[1].status_code, path
        assert answers[0].data == answers[1].data, (path, answers[0].data[:200])
        for header in ("Content-Type", "Content-Length", HEADER_LENGTH):
            assert answers[0].headers.get(header) == answers[1].headers.get(header), header


def test_fast_path_counts_requests_like_the_flask_view(digits):
    apps = [create_app(MODELS, max_batch=MAX_BATCH, fast_infer=on) for on in (True, False)]
    samples = []
    for app in apps:
        client = app.test_client()
        for path, body, headers in infer_requests(digits):
            client.post(path, data=body, headers=headers)
        text = client.get("/metrics").get_data(as_text=True)
        samples.append(sorted(
            line for line in text.splitlines()
            if not line.startswith("#") and "_created" not in line and "/metrics" not in line
            and ("duration_seconds_" not in line or "_count" in line)
        ))  # fmt: skip
    assert any('route="/v2/models/<name>/versions/<version>/infer"' in s for s in samples[0])
    assert any('http_request_duration_seconds_count{route="/v2/models' in s for s in samples[0])
    assert samples[0] == samples[1]


def test_fast_path_leaves_other_requests_to_flask(app):
    client = app.test_client()
    assert_clean_error(client.get("/v2/models/digits/infer"), 405)
    assert_clean_error(client.post("/v2/models/digits/infer/more", data=b"{}"), 404)
    assert client.post("/v1/models/digits:predict", json=GOOD).status_code == 200
