"""The serving benchmark's measuring tools (mlops_course/serving_bench.py): CPU per request,
wrk runs against a real gunicorn, and the protocol's cost."""

from __future__ import annotations

import shutil

import pytest
from paths import MODELS

from mlops_course.mobilenet import upsample_digits
from mlops_course.runtime import OnnxRunner
from mlops_course.server_process import gunicorn_server
from mlops_course.serving_bench import (
    checked_binary_body,
    cpu_per_request,
    cpu_seconds,
    parse_wrk,
    protocol_cost,
    wrk,
)

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:8000/v2/models/mobilenet/infer
  1 threads and 2 connections
  Latency Distribution
     50%  610.00us
     75%    1.20ms
     90%    2.50ms
     99%   12.34ms
  1234 requests in 1.00s, 2.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   1233.50
"""


def test_protocol_cost_is_what_is_not_inference():
    assert protocol_cost(3.4, 0.7) == pytest.approx(2.7)
    json, binary = protocol_cost(3.38, 0.7), protocol_cost(1.32, 0.7)
    assert json / binary == pytest.approx(2.68 / 0.62)
    with pytest.raises(ValueError, match="measurement is broken"):
        protocol_cost(0.6, 0.7)


def test_wrk_report_is_parsed_with_units_and_every_kind_of_error():
    parsed = parse_wrk(WRK_OUTPUT)
    assert parsed["requests"] == 1234 and parsed["requests_per_s"] == 1233.5
    assert parsed["errors"] == 5 + 1 + 2
    assert parsed["p50_ms"] == pytest.approx(0.61) and parsed["p99_ms"] == pytest.approx(12.34)


def test_cpu_per_request_splits_client_and_server():
    cpu = cpu_per_request((1.0, 10.0), (1.5, 12.0), 1000, 200.0, server_pid=1)
    assert cpu["client_cpu_ms"] == pytest.approx(0.5) and cpu["server_cpu_ms"] == pytest.approx(2)
    assert cpu["cores_busy"] == pytest.approx(0.5)
    assert cpu_per_request((1.0, 0.0), (1.5, 0.0), 1000, 200.0, None)["server_cpu_ms"] is None


@pytest.fixture(scope="module")
def server():
    with gunicorn_server(MODELS, workers=1) as running:
        yield running


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (.ci/run installs it)"
)
def test_benchmark_wrk_load_counts_answers_errors_and_cpu(server, digits):
    x = upsample_digits(digits.x_test[:8], "uint8")
    expected = OnnxRunner(MODELS / "mobilenet" / "1" / "model.onnx").predict(x)
    with pytest.raises(RuntimeError, match="differs from in-process"):
        checked_binary_body(server.url, x, expected + 0.5, "mobilenet")
    body, headers = checked_binary_body(server.url, x, expected, "mobilenet")
    endpoint = f"{server.url}/v2/models/mobilenet/infer"
    before = cpu_seconds(server.process.pid)
    good = wrk(endpoint, body, headers, 2, 1)
    after = cpu_seconds(server.process.pid)
    cpu = cpu_per_request(
        before, after, good["requests"], good["requests_per_s"], server.process.pid
    )
    assert good["requests"] > 10 and good["errors"] == 0 and good["p99_ms"] >= good["p50_ms"] > 0
    assert cpu["server_cpu_ms"] > 0.5 and 0 < cpu["client_cpu_ms"] < cpu["server_cpu_ms"]
    cut_short = wrk(endpoint, body[:-4], headers, 1, 1)  # every answer a 400
    assert cut_short["requests"] > 10 and cut_short["errors"] == cut_short["requests"]
