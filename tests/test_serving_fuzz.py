"""Fuzzing: schemathesis generates requests from ``openapi.yaml`` (valid and invalid ones) and
hypothesis generates Open Inference Protocol bodies; no answer may be a 5xx, every answer must
match the document, and the app must still be healthy afterwards.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import ROOT
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mlops_course.serving import create_app

APP = create_app(ROOT / "models", max_batch=16, max_content_length=64 * 1024)
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.yaml", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FAST = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
# schemathesis gives each API operation's test the same node ID, so xdist would run only one:
# make test runs this module after its workers, in one process.
pytestmark = pytest.mark.serial


@pytest.mark.slow
@SCHEMA.parametrize()
@FAST
def test_every_documented_route_answers_without_a_server_error(case):
    case.call_and_validate(checks=CHECKS)


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans())
json_values = st.recursive(
    st.one_of(st.none(), numbers, st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=40,
)
tensors = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["images", "features", "x"]),
        "shape": st.lists(st.integers(-2, 70), max_size=5),
        "datatype": st.sampled_from(["FP32", "FP64", "INT64", "BOOL", "BYTES", "fp32"]),
    },
    optional={
        "data": st.one_of(json_values, st.lists(numbers, max_size=130)),
        "parameters": st.dictionaries(
            st.sampled_from(["binary_data_size", "x"]), json_values, max_size=2
        ),
    },
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"inputs": st.lists(tensors, max_size=3)},
        optional={"outputs": json_values, "parameters": json_values, "id": json_values},
    ),
)


@pytest.mark.slow
@given(body=bodies, tail=st.binary(max_size=64), header=st.one_of(st.none(), st.integers(-5, 400)))
@FAST
def test_open_inference_protocol_bodies_never_cause_a_server_error(body, tail, header):
    client = APP.test_client()
    data = json.dumps(body).encode()
    headers = {} if header is None else {"Inference-Header-Content-Length": str(header)}
    for model in ("digits", "diabetes"):
        answer = client.post(f"/v2/models/{model}/infer", data=data + tail, headers=headers)
        assert answer.status_code < 500, answer.get_data(as_text=True)
        assert answer.status_code == 200 or set(answer.get_json()) == {"error"}


def test_still_healthy_after_fuzzing():
    client = APP.test_client()
    assert client.get("/v2/health/ready").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'code="500"' not in metrics
