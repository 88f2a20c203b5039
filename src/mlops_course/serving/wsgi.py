"""The WSGI entry point for gunicorn: ``gunicorn mlops_course.serving.wsgi:app``.

The app is built on first access of ``app`` (not at import), from the environment:
``MODEL_REPOSITORY`` (default ``models``), ``MAX_BATCH``, ``MAX_CONTENT_LENGTH``,
``MAX_IMAGE_PIXELS``, ``ORT_THREADS``, ``DEFAULT_MODEL``, ``MAX_INFLIGHT``, ``RETRY_AFTER``
(see :mod:`.config`).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

import functools
import logging

from flask import Flask

from mlops_course.serving.app import create_app
from mlops_course.serving.config import config_from_env


@functools.cache
def build() -> Flask:
    """One app per process, configured from the environment; logs go to gunicorn's stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(config=config_from_env())


def __getattr__(name: str) -> Flask:  # PEP 562: `wsgi.app` builds the app on first use
    if name == "app":
        return build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
