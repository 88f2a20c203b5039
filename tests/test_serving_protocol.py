"""The Open Inference Protocol codec (serving/protocol.py) on its own: binary tensors are used
where they lie in the body, answers carry what the request asked for."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlops_course.loadgen import v2_body
from mlops_course.serving.errors import ApiError
from mlops_course.serving.protocol import (
    HEADER_LENGTH,
    datatype_of,
    encode_infer_response,
    parse_infer_request,
)


def test_a_binary_tensor_is_a_view_of_the_body_not_a_copy():
    x = np.arange(16, dtype="<f4").reshape(4, 4)
    body, headers = v2_body(x, "images", binary=True)
    parsed = parse_infer_request(body, headers[HEADER_LENGTH]).inputs["images"]
    assert np.shares_memory(parsed, np.frombuffer(body, np.uint8))
    np.testing.assert_array_equal(parsed, x)


def test_the_answer_has_the_requests_id_and_each_output_as_asked():
    body = {
        "id": "r7",
        "inputs": [{"name": "x", "shape": [1], "datatype": "INT64", "data": [3]}],
        "outputs": [{"name": "y", "parameters": {"binary_data": False}}],
    }
    request = parse_infer_request(json.dumps(body).encode(), None)
    answer, headers = encode_infer_response("m", 2, request, {"y": np.array([[0.5]], np.float32)})
    decoded = json.loads(answer)
    assert headers == {"Content-Type": "application/json"}
    assert decoded["id"] == "r7" and decoded["model_version"] == "2"
    assert decoded["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [1, 1], "data": [0.5]}]
    with pytest.raises(ApiError, match="unknown output"):
        encode_infer_response("m", 2, request, {"z": np.zeros(1)})


def test_datatype_names_follow_the_protocol():
    assert datatype_of("float32") == "FP32" and datatype_of(np.uint8) == "UINT8"
    assert datatype_of(np.dtype(">i8")) == "INT64"
