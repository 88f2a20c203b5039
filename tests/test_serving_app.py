"""The application factory (serving/app.py): the state the routes share, errors and metrics
wired into every app, one metrics registry per app."""

from __future__ import annotations

from paths import MODELS

from mlops_course.serving import create_app
from mlops_course.serving.context import EXTENSION, ServingState


def test_the_app_carries_the_state_its_routes_read(app):
    serving = app.extensions[EXTENSION]
    assert isinstance(serving, ServingState)
    assert serving.config.max_batch == 32 and app.config["MAX_CONTENT_LENGTH"] == 256 * 1024
    assert set(serving.repository.names()) == {"digits", "diabetes", "mobilenet"}


def test_metrics_count_requests_latency_and_errors(client):
    client.get("/v2/models/nope")
    client.post("/v1/models/digits:predict", json={"instances": [[[[0.0]] * 8] * 8]})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_errors_total{code="404"}' in text
    route = 'route="/v1/models/<name>:predict"'
    assert f'http_request_duration_seconds_bucket{{le="0.001",{route}}}' in text
    assert 'inference_batch_size_count{model="digits"}' in text


def test_each_app_has_its_own_metrics_registry(app):
    other = create_app(MODELS)
    other.test_client().get("/v2/health/live")
    ours = app.extensions[EXTENSION].metrics.registry
    assert ours is not other.extensions[EXTENSION].metrics.registry
