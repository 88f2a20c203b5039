"""Overload protection (mlops_course/serving/overload.py), in process: at most ``max_inflight``
inference requests run at once, the next gets 503 + Retry-After at once and is counted, and
the probes and /metrics answer while the bound is full. The real-server load test is in
test_serving_overload_load.py."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from serving_helpers import GOOD, assert_clean_error, make_app, v2

from mlops_course.serving.config import ServingConfig, config_from_env
from mlops_course.serving.context import EXTENSION

BOUND, RETRY_AFTER = 2, 7
INFER = "/v2/models/digits/infer"
ROUTES = {  # every bounded route, with a valid body for it
    INFER: {"json": v2(np.zeros((1, 8, 8, 1)))},
    "/predict": {"json": GOOD},
    "/v1/models/digits:predict": {"json": GOOD},
}
PROBES = ("/v2/health/live", "/v2/health/ready", "/metrics")
STUCK_S = 30  # how long the gate holds requests in the model; "at once" is well before that


class Gate:
    """A fake slow predictor: each call waits until :meth:`open`; counts who is inside."""

    def __init__(self) -> None:
        self.inside, self.opened, self.lock = 0, threading.Event(), threading.Lock()

    def wrap(self, predict):
        def slow(x):
            with self.lock:
                self.inside += 1
            self.opened.wait(STUCK_S)
            return predict(x)

        return slow

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.inside < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.inside == count, f"{self.inside} requests reached the model, not {count}"


@pytest.fixture
def full():
    """An app whose bound (2 of 4 threads) is taken by two requests stuck in the model."""
    app = make_app(http_threads=4, retry_after=RETRY_AFTER)
    gate = Gate()
    for model in app.extensions[EXTENSION].repository.models.values():
        for loaded in model.values():
            loaded.predict = gate.wrap(loaded.predict)
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(
                app.test_client().post(INFER, **ROUTES[INFER]).status_code
            )
        )
        for _ in range(BOUND)
    ]
    for thread in threads:
        thread.start()
    gate.wait_for(BOUND)
    yield app, gate, answers
    gate.opened.set()
    for thread in threads:
        thread.join(30)


def timed(call):
    start = time.perf_counter()
    answer = call()
    return answer, time.perf_counter() - start


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_beyond_the_bound_a_request_gets_503_with_retry_after_at_once(full, route):
    app, gate, _ = full
    answer, seconds = timed(lambda: app.test_client().post(route, **ROUTES[route]))
    message = assert_clean_error(answer, 503)
    assert answer.headers["Retry-After"] == str(RETRY_AFTER)
    assert "busy" in message and f"{BOUND} inference requests" in message
    assert seconds < STUCK_S / 2 and gate.inside == BOUND  # refused without waiting or running


def test_probes_and_metrics_answer_while_the_bound_is_full(full):
    app, _, _ = full
    for path in PROBES:
        answer, seconds = timed(lambda path=path: app.test_client().get(path))
        assert answer.status_code == 200 and seconds < STUCK_S / 2, path


def test_refusals_and_requests_in_flight_are_in_the_metrics(full):
    app, _, _ = full
    client = app.test_client()
    for _ in range(2):
        assert client.post(INFER, **ROUTES[INFER]).status_code == 503
    text = client.get("/metrics").get_data(as_text=True)
    route = "/v2/models/<name>/infer"
    assert f'inference_rejected_total{{route="{route}"}} 2.0' in text
    assert f"inference_in_flight {BOUND}.0" in text
    assert 'http_errors_total{code="503"} 2.0' in text


def test_slots_come_back_when_requests_end(full):
    app, gate, answers = full
    gate.opened.set()
    deadline = time.monotonic() + 10
    while len(answers) < BOUND and time.monotonic() < deadline:
        time.sleep(0.01)
    assert answers == [200] * BOUND
    client = app.test_client()
    for _ in range(BOUND + 1):  # sequential: each ends before the next, so none is refused
        assert client.post(INFER, **ROUTES[INFER]).status_code == 200
    assert "inference_in_flight 0.0" in client.get("/metrics").get_data(as_text=True)


def test_a_failing_request_gives_its_slot_back():
    client = make_app(max_inflight=1).test_client()
    for _ in range(3):
        assert client.post(INFER, json={"inputs": "nonsense"}).status_code == 400
    assert client.post(INFER, **ROUTES[INFER]).status_code == 200


def test_every_post_route_is_bounded_and_no_get_route_is(app):
    """Inference happens only in POST routes; a GET (probes, metrics, metadata) never waits."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "bounded", False) == ("POST" in rule.methods), rule.rule
    bounded = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert bounded == {"v2.infer", "rest.predict", "rest.tf_serving_predict"}


def test_the_bound_defaults_to_half_the_threads():
    assert ServingConfig().inflight_limit == 2  # gunicorn_conf's default: 4 threads
    assert ServingConfig(http_threads=9).inflight_limit == 4
    assert ServingConfig(http_threads=1).inflight_limit == 1
    assert ServingConfig(http_threads=8, max_inflight=3).inflight_limit == 3
    env = {"GUNICORN_THREADS": "6", "RETRY_AFTER": "2"}
    assert config_from_env(env).inflight_limit == 3 and config_from_env(env).retry_after == 2
    assert config_from_env({**env, "MAX_INFLIGHT": "4"}).inflight_limit == 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_inflight": 0}, "max_inflight must be >= 1"),
        ({"retry_after": 0}, "retry_after must be >= 1"),
        ({"http_threads": 0}, "http_threads must be >= 1"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(ValueError, match=message):
        ServingConfig(**settings)


def test_bad_environment_values_are_refused_in_one_line():
    with pytest.raises(ValueError, match="MAX_INFLIGHT must be a whole number, got 'lots'"):
        config_from_env({"MAX_INFLIGHT": "lots"})


def test_a_bound_that_takes_every_thread_is_warned_about(caplog):
    make_app(http_threads=2, max_inflight=2)
    assert "probes can wait behind inference" in caplog.text


def test_gunicorn_tells_the_app_the_threads_it_really_runs(monkeypatch, tmp_path):
    """``--threads`` on the command line wins over GUNICORN_THREADS; the bound follows it."""
    from types import SimpleNamespace

    from mlops_course.serving import gunicorn_conf

    monkeypatch.setenv("GUNICORN_THREADS", "4")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    server = SimpleNamespace(cfg=SimpleNamespace(threads=10), log=SimpleNamespace(info=print))
    gunicorn_conf.on_starting(server)
    assert config_from_env().http_threads == 10 and config_from_env().inflight_limit == 5
