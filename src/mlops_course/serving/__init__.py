"""The course's model server: Flask + ONNX Runtime, run by gunicorn.

``create_app(model_repository)`` builds the app; ``make serve`` runs
``gunicorn mlops_course.serving.wsgi:app``. Routes: the Open Inference Protocol (KServe v2)
under ``/v2``, TF Serving's ``/v1/models/<name>:predict``, ``/predict`` (image upload or JSON),
``/metadata``, ``/metrics``, ``/openapi.yaml`` and a web page at ``/``.

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from mlops_course.serving.app import create_app
from mlops_course.serving.config import ServingConfig

__all__ = ["ServingConfig", "create_app"]
