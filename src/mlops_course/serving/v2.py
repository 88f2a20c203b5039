"""The Open Inference Protocol (KServe v2) REST routes, as ``tritonclient.http`` expects them.

``POST .../infer`` is the hot path. :class:`InferFastPath` answers it in front of Flask, with
the same code (:func:`run_infer`), errors and metrics as the Flask view, minus Flask's
per-request machinery (request context, URL matching against every route, hooks, a Response
object): about 0.07 ms a request measured in-process, two thirds of what the app spends on a
binary batch of 64 digits besides inference (0.10 ms with Flask, 0.03 ms without).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

import numpy as np
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mlops_course import __version__
from mlops_course.serving.app import check_encoding, read_body_from, state
from mlops_course.serving.errors import ApiError
from mlops_course.serving.protocol import (
    HEADER_LENGTH,
    datatype_of,
    encode_infer_response,
    parse_infer_request,
    tensor_metadata,
)

if TYPE_CHECKING:
    from mlops_course.serving.app import ServingState

blueprint = Blueprint("v2", __name__, url_prefix="/v2")
SERVER_NAME = "mlops-course"
log = logging.getLogger("mlops_course.serving")
_HEADER_LENGTH_KEY = "HTTP_" + HEADER_LENGTH.upper().replace("-", "_")  # as WSGI names it


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


def run_infer(serving: ServingState, name: str, version: str | None, environ: dict):
    """Answer one infer request: ``(body, headers)``, or an ApiError / HTTPException.

    JSON or binary tensors in, JSON or binary tensors out, the batch run as one call.
    """
    model = serving.repository.get(name, version)
    check_encoding(environ)
    expected = model.card.input
    parsed = parse_infer_request(  # no tensor can hold more values than the body has bytes
        read_body_from(environ, serving.config.max_content_length),
        environ.get(_HEADER_LENGTH_KEY),
        serving.config.max_content_length,
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
    return encode_infer_response(model.name, model.version, parsed, {model.card.output.name: y})


@blueprint.post("/models/<name>/infer")
@blueprint.post("/models/<name>/versions/<version>/infer")
def infer(name: str, version: str | None = None):
    """Run one batch (what :class:`InferFastPath` answers when it is on)."""
    body, headers = run_infer(state(), name, version, request.environ)
    return Response(body, headers=headers)


_INFER = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer")
_ROUTES = ("/v2/models/<name>/infer", "/v2/models/<name>/versions/<version>/infer")


class InferFastPath:
    """WSGI middleware: ``POST /v2/models/<name>[/versions/<v>]/infer`` without Flask.

    Introduced in notebooks/07_serving_with_flask.ipynb. Anything else (other routes, other
    methods) goes to ``wsgi_app``. Answers, errors (JSON ``{"error": ...}``, 5xx logged) and
    metrics are those of the Flask view; ``tests/test_serving_app.py`` compares them.
    """

    def __init__(self, wsgi_app: Callable, serving: ServingState) -> None:
        self.wsgi_app = wsgi_app
        self.serving = serving

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        # WSGI passes the path as latin-1; werkzeug routes on its UTF-8 reading, and so do we.
        try:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        except UnicodeError:  # not a WSGI string: Flask decides what it means
            return self.wsgi_app(environ, start_response)
        match = _INFER.fullmatch(path)
        if match is None:
            return self.wsgi_app(environ, start_response)
        start = time.perf_counter()
        try:
            body, headers = run_infer(self.serving, match["name"], match["version"], environ)
            status = 200
        except Exception as error:  # the same answers as errors.register_error_handlers
            status, body, headers = _error(error, self.serving.config.max_content_length)
        route = _ROUTES[match["version"] is not None]
        self.serving.metrics.record("POST", route, status, time.perf_counter() - start)
        headers = [*headers.items(), ("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]


def _error(error: Exception, limit: int) -> tuple[int, bytes, dict[str, str]]:
    if isinstance(error, ApiError):
        status, message = error.status, error.message
        log.info("%s %s", status, message)
    elif isinstance(error, HTTPException) and error.code == 413:
        status, message = 413, f"request body is larger than the limit of {limit} bytes"
        log.info("413 body over %s bytes", limit)
    elif isinstance(error, HTTPException):
        status, message = error.code or 500, error.description or error.name
        log.info("%s %s", status, message)
    else:
        log.exception("unhandled error while serving a request")
        status, message = 500, "internal server error (logged on the server)"
    body = json.dumps({"error": message}, separators=(",", ":")).encode() + b"\n"
    return status, body, {"Content-Type": "application/json"}
