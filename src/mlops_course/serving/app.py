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
    return app


def state() -> ServingState:
    """The running app's :class:`ServingState`."""
    return current_app.extensions["serving"]


def read_json() -> Any:
    """The request body as JSON: 415 unless Content-Type is JSON, 400 when it does not parse."""
    if not request.is_json:
        raise UnsupportedMediaType(
            f"send Content-Type: application/json (got {request.mimetype or 'none'!r})"
        )
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError) as error:
        raise ApiError(f"malformed JSON: {str(error)[:200]}") from None


def check_encoding() -> None:
    """415 for compressed bodies: decompressing unbounded input is a bomb waiting to happen."""
    if request.content_encoding not in (None, "", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {request.content_encoding!r} is not accepted")
