"""The plain REST routes: the web page, ``/predict``, ``/metadata``, TF Serving's ``:predict``,
``/metrics`` and the OpenAPI document that describes them (``openapi.yaml``).

Introduced in notebooks/07_serving_with_flask.ipynb.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
from flask import Blueprint, Response, jsonify, render_template, request

from mlops_course import __version__
from mlops_course.serving.context import check_encoding, read_json, state
from mlops_course.serving.errors import ApiError, UnsupportedMediaType
from mlops_course.serving.images import image_to_input
from mlops_course.serving.overload import bounded
from mlops_course.serving.predictor import LoadedModel
from mlops_course.serving.protocol import as_number_array

blueprint = Blueprint("rest", __name__)


def instances(body: Any) -> np.ndarray:
    """``body["instances"]`` as a numeric array (400 when missing or not numbers)."""
    if not isinstance(body, dict) or "instances" not in body:
        raise ApiError('send a JSON object {"instances": [...]}, one entry per input')
    if not isinstance(body["instances"], list):
        raise ApiError('"instances" must be a list, one entry per input')
    return as_number_array(body["instances"], "instances")


def run(model: LoadedModel, x: Any) -> np.ndarray:
    """Check a batch against the card, predict it as one batch, count its size."""
    serving = state()
    checked = model.check(x, serving.config.max_batch)
    serving.metrics.batch.labels(model.name).observe(len(checked))
    return model.predict(checked)


def readable(model: LoadedModel, y: np.ndarray) -> list[dict[str, Any]]:
    """Label and probabilities per instance (classifier), or the predicted value (regressor)."""
    if model.card.labels is None:
        return [{"value": float(row[0])} for row in y]
    labels = model.card.labels
    return [
        {
            "label": labels[int(row.argmax())],
            "probabilities": {
                label: round(float(p), 6) for label, p in zip(labels, row, strict=True)
            },
        }
        for row in y
    ]


@blueprint.get("/")
def index():
    """The page where a person uploads or draws a digit."""
    model = state().repository.get(state().config.default_model)
    return render_template("index.html", model=model.card, version=__version__)


@blueprint.post("/predict")
@bounded
def predict():
    """An uploaded image (multipart field ``image``) or JSON ``{"instances": ...}``."""
    serving = state()
    model = serving.repository.get(
        request.args.get("model", serving.config.default_model), request.args.get("version")
    )
    check_encoding()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise ApiError("upload the picture in the multipart form field 'image'")
        x = image_to_input(upload.read(), model.card.input.shape, serving.config.max_image_pixels)
    elif request.is_json:
        x = instances(read_json())
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with an 'image' file, or "
            'application/json with {"instances": [...]}'
        )
    y = run(model, x)
    return jsonify(model=model.name, version=model.version, predictions=readable(model, y))


@blueprint.get("/predict")
def predict_help():
    """How to call ``POST /predict``: a GET shows an example instead of a bare 405."""
    model = state().repository.get(state().config.default_model)
    base = request.host_url.rstrip("/")
    example = np.zeros([d or 1 for d in model.card.input.shape], dtype=int).tolist()
    return jsonify(
        model=model.name,
        input=model.card.input.__dict__ | {"preprocessing": model.card.preprocessing},
        post_image=f"curl -F image=@digit.png {base}/predict",
        post_json=f"curl -H 'Content-Type: application/json' -d @body.json {base}/predict",
        example_body={"instances": example},
        other_apis={
            "open_inference_protocol": f"{base}/v2/models/{model.name}/infer",
            "tf_serving": f"{base}/v1/models/{model.name}:predict",
            "openapi": f"{base}/openapi.yaml",
        },
    )


@blueprint.get("/metadata")
def metadata():
    """Every loaded model card, newest version first."""
    repository = state().repository
    cards = [
        repository.get(name, v).card.to_dict()
        for name in repository.names()
        for v in reversed(repository.versions(name))
    ]
    return jsonify(server=f"mlops-course {__version__}", models=cards)


@blueprint.post("/v1/models/<name>:predict")
@blueprint.post("/v1/models/<name>/versions/<version>:predict")
@bounded
def tf_serving_predict(name: str, version: str | None = None):
    """TF Serving's REST shape: ``{"instances": [...]}`` → ``{"predictions": [...]}``."""
    model = state().repository.get(name, version)
    check_encoding()
    y = run(model, instances(read_json()))
    return jsonify(predictions=y.tolist())


@blueprint.get("/v1/models/<name>")
@blueprint.get("/v1/models/<name>/versions/<version>")
def tf_serving_status(name: str, version: str | None = None):
    """TF Serving's model status answer."""
    model = state().repository.get(name, version)
    status = {
        "version": str(model.version),
        "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""},
    }
    return jsonify(model_version_status=[status])


@blueprint.get("/metrics")
def metrics():
    """Prometheus text format: requests, latency histogram, errors by code, batch sizes."""
    return state().metrics.exposition()


@blueprint.get("/openapi.yaml")
def openapi():
    """The OpenAPI 3 document of these routes (the file kept in the package, with the version)."""
    text = resources.files("mlops_course.serving").joinpath("openapi.yaml").read_text("utf-8")
    text = text.replace("PACKAGE_VERSION", __version__, 1)
    return Response(text, content_type="application/yaml; charset=utf-8")
