"""Request state: what every route needs (settings, models, metrics) and how it reads a body.

The app factory (:mod:`.app`) puts a :class:`ServingState` into ``app.extensions``; the routes
(:mod:`.rest`, :mod:`.v2`) get it back with :func:`state`. This module imports neither side, so
the factory and its blueprints never import each other (the layout of Flask's tutorial and of
KServe's model server).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from mlops_course.serving.config import ServingConfig
from mlops_course.serving.errors import ApiError, UnsupportedMediaType
from mlops_course.serving.metrics import Metrics
from mlops_course.serving.predictor import ModelRepository

EXTENSION = "serving"  # the key of the state in ``app.extensions``


@dataclass
class ServingState:
    """What every request handler needs: settings, the loaded models, the metrics."""

    config: ServingConfig
    repository: ModelRepository
    metrics: Metrics


def state() -> ServingState:
    """The running app's :class:`ServingState`."""
    return current_app.extensions[EXTENSION]


def read_body_from(environ: dict, limit: int | None) -> bytes:
    """A WSGI request's body, read in one call (413 over ``limit``, 400 when cut short).

    werkzeug's ``get_data`` reads 64 KiB at a time, and gunicorn copies what it has buffered of
    the rest of the body on every such read: quadratic in the body size. Reading exactly
    Content-Length bytes at once avoids it. A body without a Content-Length (chunked) goes
    through werkzeug, which enforces the same limit.
    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
    header = environ.get("CONTENT_LENGTH") or ""
    if not header.isdecimal():  # chunked (gunicorn de-chunks it) or no body
        return get_input_stream(environ, max_content_length=limit).read()
    length = int(header)
    if limit is not None and length > limit:
        raise RequestEntityTooLarge()
    try:
        body = environ["wsgi.input"].read(length) if length else b""
    except (OSError, ValueError):
        raise ClientDisconnected() from None
    if len(body) != length:
        raise ApiError(f"the body ended after {len(body)} of the {length} bytes announced")
    return body


def read_body() -> bytes:
    """The current request's body (see :func:`read_body_from`)."""
    return read_body_from(request.environ, current_app.config["MAX_CONTENT_LENGTH"])


def read_json() -> Any:
    """The request body as JSON: 415 unless Content-Type is JSON, 400 when it does not parse."""
    if not request.is_json:
        raise UnsupportedMediaType(
            f"send Content-Type: application/json (got {request.mimetype or 'none'!r})"
        )
    try:
        return json.loads(read_body())
    except (ValueError, RecursionError) as error:
        raise ApiError(f"malformed JSON: {str(error)[:200]}") from None


def check_encoding() -> None:
    """415 for compressed bodies: decompressing unbounded input is a bomb waiting to happen."""
    encoding = request.environ.get("HTTP_CONTENT_ENCODING")
    if encoding not in (None, "", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted")
