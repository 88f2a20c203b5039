"""The load generator's pieces (mlops_course/loadgen.py): request bodies the server parses back
to the same tensor, binary answers decoded, and a closed loop that counts errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlops_course.loadgen import (
    binary_header,
    binary_output,
    closed_loop,
    v2_body,
    wire_array,
)
from mlops_course.serving.protocol import (
    HEADER_LENGTH,
    InferRequest,
    encode_infer_response,
    parse_infer_request,
)


def test_wire_array_sends_floats_as_fp32_and_integers_as_they_are():
    assert wire_array(np.zeros((2, 3), np.float64)).dtype == np.dtype("<f4")
    assert wire_array(np.zeros((2, 3), np.uint8)).dtype == np.uint8
    assert wire_array(np.zeros(3, ">i4")).dtype == np.dtype("<i4")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_v2_body_parses_back_to_the_same_tensor(binary):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    body, headers = v2_body(x, "images", binary)
    parsed = parse_infer_request(body, headers.get(HEADER_LENGTH))
    np.testing.assert_array_equal(parsed.inputs["images"], x)
    assert parsed.binary_output is binary


def test_binary_header_and_output_round_trip_through_the_protocol():
    x = np.arange(12, dtype="<f4").reshape(3, 4)
    header, headers = binary_header(x, "images", "probabilities")
    body = header + x.tobytes()
    assert headers["Content-Length"] == str(len(body)) and headers[HEADER_LENGTH] == str(
        len(header)
    )
    parsed = parse_infer_request(body, headers[HEADER_LENGTH])
    np.testing.assert_array_equal(parsed.inputs["images"], x)
    assert parsed.outputs == {"probabilities": True}
    y = np.arange(6, dtype=np.float32).reshape(3, 2)
    answer, answer_headers = encode_infer_response("m", 1, parsed, {"probabilities": y})
    np.testing.assert_array_equal(binary_output(answer, answer_headers[HEADER_LENGTH]), y)


def test_closed_loop_counts_requests_and_errors():
    calls = iter(range(10**9))
    result = closed_loop(lambda: lambda: next(calls) % 2 == 0, clients=2, seconds=0.2, warmup=0)
    assert result.requests > 10 and result.clients == 2
    assert abs(result.errors - result.requests / 2) <= 2  # every other call fails
    assert result.p99_ms >= result.p50_ms >= 0
    raising = closed_loop(lambda: lambda: 1 / 0, clients=1, seconds=0.1, warmup=0)
    assert raising.errors == raising.requests > 0
    assert json.dumps(result.as_dict())


def test_infer_request_defaults_ask_for_every_output():
    request = InferRequest({"images": np.zeros((1, 2), np.float32)})
    body, headers = encode_infer_response("m", 1, request, {"y": np.ones((1, 2), np.float32)})
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["outputs"][0]["data"] == [1.0, 1.0]
