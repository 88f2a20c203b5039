"""The Flask application factory: load the models once, wire routes, errors and metrics.

Introduced in notebooks/07_serving_with_flask.ipynb. Production runs it under gunicorn
(``make serve``, see :mod:`mlops_course.serving.wsgi`); never ``app.run(debug=True)``, whose
interactive debugger lets anyone who can reach the port run Python on the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from mlops_course.serving.config import ServingConfig
from mlops_course.serving.errors import ApiError, UnsupportedMediaType, register_error_handlers
from mlops_course.serving.metrics import Metrics
from mlops_course.serving.predictor import ModelRepository


@dataclass
class ServingState:
    """What every request handler needs: settings, the loaded models, the metrics."""

    config: ServingConfig
    repository: ModelRepository
    metrics: Metrics


def create_app(
    model_repository: str | Path | None = None, config: ServingConfig | None = None, **settings
) -> Flask:
    """A ready-to-serve Flask app for every model version under ``model_repository``.

    ``settings`` override fields of :class:`ServingConfig` (e.g. ``max_batch=64``).
    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
    from mlops_course.serving import rest, v2  # the routes import this module's helpers

    config = replace(config or ServingConfig(), **settings)
    if model_repository is not None:
        config = replace(config, model_repository=Path(model_repository))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_content_length
    app.json.sort_keys = False  # type: ignore[attr-defined]
    pinned = (
        {} if config.default_version is None else {config.default_model: config.default_version}
    )
    repository = ModelRepository(config.model_repository, config.threads, pinned, config.providers)
    state = ServingState(config, repository, Metrics())
    app.extensions["serving"] = state
    register_error_handlers(app)
    state.metrics.install(app)
    app.register_blueprint(v2.blueprint)
    app.register_blueprint(rest.blueprint)
    if config.fast_infer:
        app.wsgi_app = v2.InferFastPath(app.wsgi_app, state)  # type: ignore[method-assign]
    return app


def state() -> ServingState:
    """The running app's :class:`ServingState`."""
    return current_app.extensions["serving"]


def read_body_from(environ: dict, limit: int | None) -> bytes:
    """A WSGI request's body, read in one call (413 over ``limit``, 400 when cut short).

    werkzeug's ``get_data`` reads 64 KiB at a time, and gunicorn copies what it has buffered of
    the rest of the body on every such read: quadratic in the body size, about 1 ms for a batch
    of eight 96×96×3 images. Reading exactly Content-Length bytes at once avoids it. A body
    without a Content-Length (chunked) goes through werkzeug, which enforces the same limit.
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


def check_encoding(environ: dict | None = None) -> None:
    """415 for compressed bodies: decompressing unbounded input is a bomb waiting to happen."""
    encoding = (request.environ if environ is None else environ).get("HTTP_CONTENT_ENCODING")
    if encoding not in (None, "", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted")
