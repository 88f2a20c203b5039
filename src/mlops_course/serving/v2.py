"""The Open Inference Protocol (KServe v2) REST routes, as ``tritonclient.http`` expects them.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, Response, jsonify, request

from mlops_course import __version__
from mlops_course.serving.context import check_encoding, read_body, state
from mlops_course.serving.errors import ApiError
from mlops_course.serving.overload import bounded
from mlops_course.serving.protocol import (
    HEADER_LENGTH,
    datatype_of,
    encode_infer_response,
    parse_infer_request,
    tensor_metadata,
)

blueprint = Blueprint("v2", __name__, url_prefix="/v2")
SERVER_NAME = "mlops-course"


@blueprint.get("")
def server_metadata():
    """Server name, version and the protocol extensions it supports."""
    return jsonify(name=SERVER_NAME, version=__version__, extensions=["binary_tensor_data"])


@blueprint.get("/health/live")
def live():
    """The process answers HTTP (a liveness probe)."""
    return jsonify(live=True)


@blueprint.get("/health/ready")
def ready():
    """Every model is loaded (they load before the first request, so: yes)."""
    return jsonify(ready=bool(state().repository.models))


@blueprint.get("/models/<name>")
@blueprint.get("/models/<name>/versions/<version>")
def model_metadata(name: str, version: str | None = None):
    """Inputs, outputs and versions of a model, in v2 metadata form."""
    repository = state().repository
    model = repository.get(name, version)
    return jsonify(
        name=model.name,
        versions=[str(v) for v in repository.versions(name)],
        platform="onnxruntime_onnx",
        inputs=[tensor_metadata(model.card.input)],
        outputs=[tensor_metadata(model.card.output)],
    )


@blueprint.get("/models/<name>/ready")
@blueprint.get("/models/<name>/versions/<version>/ready")
def model_ready(name: str, version: str | None = None):
    """200 when the model (version) is loaded, 404 otherwise."""
    model = state().repository.get(name, version)
    return jsonify(name=model.name, version=str(model.version), ready=True)


@blueprint.post("/models/<name>/infer")
@blueprint.post("/models/<name>/versions/<version>/infer")
@bounded
def infer(name: str, version: str | None = None):
    """Run one batch: JSON or binary tensors in, JSON or binary tensors out, one model call."""
    serving = state()
    model = serving.repository.get(name, version)
    check_encoding()
    expected = model.card.input
    parsed = parse_infer_request(  # no tensor can hold more values than the body has bytes
        read_body(), request.headers.get(HEADER_LENGTH), serving.config.max_content_length
    )
    if list(parsed.inputs) != [expected.name]:
        raise ApiError(
            f"model {model.name!r} takes one input named {expected.name!r}; "
            f"got {list(parsed.inputs)}"
        )
    x = parsed.inputs[expected.name]
    if x.dtype != np.dtype(expected.dtype):
        raise ApiError(
            f"input {expected.name!r} must have datatype "
            f"{datatype_of(expected.dtype)}, got {datatype_of(x.dtype)}"
        )
    x = model.check(x, serving.config.max_batch)
    y = model.predict(x)
    serving.metrics.batch.labels(model.name).observe(len(x))
    outputs = {model.card.output.name: y}
    body, headers = encode_infer_response(model.name, model.version, parsed, outputs)
    return Response(body, headers=headers)
