"""The course's model server: Flask + ONNX Runtime, run by gunicorn.

``create_app(model_repository)`` builds the app; ``make serve`` runs
``gunicorn mlops_course.serving.wsgi:app``. Routes: the Open Inference Protocol (KServe v2)
under ``/v2``, TF Serving's ``/v1/models/<name>:predict``, ``/predict`` (image upload or JSON),
``/metadata``, ``/metrics``, ``/openapi.yaml`` and a web page at ``/``.

Importing the package loads nothing else (PEP 562): gunicorn imports ``gunicorn_conf`` from it in
the master process, which must not import prometheus_client before ``PROMETHEUS_MULTIPROC_DIR``
is set (see :mod:`.gunicorn_conf`).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_course.serving.app import create_app
    from mlops_course.serving.config import ServingConfig

__all__ = ["ServingConfig", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from mlops_course.serving.app import create_app

        return create_app
    if name == "ServingConfig":
        from mlops_course.serving.config import ServingConfig

        return ServingConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
