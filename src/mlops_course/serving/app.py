"""The Flask application factory: load the models once, wire routes, errors and metrics.

Introduced in notebooks/07_serving_with_flask.ipynb. Production runs it under gunicorn
(``make serve``, see :mod:`mlops_course.serving.wsgi`); never ``app.run(debug=True)``, whose
interactive debugger lets anyone who can reach the port run Python on the server.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from flask import Flask

from mlops_course.serving import overload, rest, v2
from mlops_course.serving.config import ServingConfig
from mlops_course.serving.context import EXTENSION, ServingState
from mlops_course.serving.errors import register_error_handlers
from mlops_course.serving.metrics import Metrics
from mlops_course.serving.predictor import ModelRepository


def create_app(
    model_repository: str | Path | None = None, config: ServingConfig | None = None, **settings
) -> Flask:
    """A ready-to-serve Flask app for every model version under ``model_repository``.

    ``settings`` override fields of :class:`ServingConfig` (e.g. ``max_batch=64``).
    Introduced in notebooks/07_serving_with_flask.ipynb.
    """
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
    app.extensions[EXTENSION] = state
    register_error_handlers(app)
    state.metrics.install(app)
    overload.install(app, config, state.metrics)
    app.register_blueprint(v2.blueprint)
    app.register_blueprint(rest.blueprint)
    return app
