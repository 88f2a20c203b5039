"""A real Prometheus decides the canary: kubernetes.prometheus and kubernetes.canary_metrics.

The decision rule and the PromQL are tested without Prometheus; the end-to-end tests start Debian's
``prometheus`` (skipped, with the reason, where it is not installed) with two real gunicorn
servers: a healthy canary is promoted, a broken one rolled back, and no process is left behind.
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest
import yaml
from paths import ROOT

from mlops_course.kubernetes import canary_metrics as cm
from mlops_course.kubernetes import prometheus as kp

DIGITS = ROOT / "models" / "digits" / "1"
needs_prometheus = pytest.mark.skipif(
    kp.prometheus_path() is None,
    reason="prometheus is not installed (Debian: apt-get install prometheus; "
    ".ci/docker-engine start installs it)",
)


def test_the_config_scrapes_each_track_with_its_label():
    config = kp.scrape_config({"stable": "127.0.0.1:1", "canary": "127.0.0.1:2"}, interval=0.5)
    assert yaml.safe_load(yaml.safe_dump(config)) == config
    (job,) = config["scrape_configs"]
    assert config["global"]["scrape_interval"] == "0.5s" and job["metrics_path"] == "/metrics"
    assert [(c["targets"], c["labels"]) for c in job["static_configs"]] == [
        (["127.0.0.1:1"], {"track": "stable"}),
        (["127.0.0.1:2"], {"track": "canary"}),
    ]


def test_the_queries_ask_the_servers_inference_route_per_track():
    for query in (cm.requests_query(), cm.error_ratio_query(), cm.p95_query()):
        assert 'route="/v2/models/<name>/infer"' in query and "by (track" in query
    assert 'code=~"5.."' in cm.error_ratio_query() and "or" in cm.error_ratio_query()
    assert cm.p95_query().startswith("histogram_quantile(0.95,")


HEALTHY = {"requests": {"stable": 60, "canary": 20}, "error_ratio": {"stable": 0, "canary": 0}}


@pytest.mark.parametrize(
    ("changes", "promote", "reason"),
    [
        ({}, True, "within bounds"),
        ({"error_ratio": {"stable": 0.0, "canary": 0.05}}, False, "error ratio 5.0%"),
        ({"error_ratio": {"stable": 0.02, "canary": 0.025}}, True, "within bounds"),
        ({"p95_s": {"stable": 0.1, "canary": 0.3}}, False, "p95 300 ms"),
        ({"p95_s": {"stable": 0.001, "canary": 0.01}}, True, "within bounds"),  # under the floor
        ({"requests": {"stable": 60, "canary": 5}}, False, "only 5 canary requests"),
    ],
)
def test_decide(changes, promote, reason):
    numbers = {**HEALTHY, "p95_s": {"stable": 0.01, "canary": 0.012}, **changes}
    verdict = cm.decide(**numbers)
    assert verdict.promote is promote and reason in str(verdict), verdict


def test_the_broken_model_loads_and_fails_every_inference(tmp_path):
    session = ort.InferenceSession(str(cm.broken_onnx(tmp_path / "m.onnx")))
    assert [i.name for i in session.get_inputs()] == ["images"]
    for batch in (1, 7, 64):
        with pytest.raises(Exception, match="out of data bounds"):
            session.run(None, {"images": np.zeros((batch, 8, 8, 1), np.float32)})


def test_without_prometheus_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(kp, "prometheus_path", lambda: None)
    with pytest.raises(kp.PrometheusMissing, match="apt-get install prometheus"):
        kp.Prometheus({"stable": "127.0.0.1:1"})


def gone(pid: int) -> bool:
    """No process left in the group the server led (gunicorn's workers included)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def started(monkeypatch) -> list:
    """Every server and Prometheus canary_analysis starts, to check they are gone afterwards."""
    processes = []

    def recording(factory):
        def make(*args, **kwargs):
            made = factory(*args, **kwargs)
            processes.append(made.server if isinstance(made, kp.Prometheus) else made)
            return made

        return make

    monkeypatch.setattr(cm, "gunicorn_server", recording(cm.gunicorn_server))
    monkeypatch.setattr(cm, "Prometheus", recording(cm.Prometheus))
    return processes


@pytest.mark.slow
@needs_prometheus
@pytest.mark.parametrize("broken", [False, True], ids=["healthy", "broken"])
def test_prometheus_decides_the_canary(started, broken):
    verdict, answers = cm.canary_analysis(DIGITS, broken=broken)
    assert verdict.requests == {"stable": 60, "canary": 20}
    assert answers == {"stable 2xx": 60, f"canary {'5xx' if broken else '2xx'}": 20}
    assert verdict.error_ratio == {"stable": 0.0, "canary": 1.0 if broken else 0.0}
    assert verdict.promote is not broken, verdict
    assert set(verdict.p95_s) == {"stable", "canary"}
    assert len(started) == 3 and all(not p.alive() and gone(p.process.pid) for p in started)
