"""Overload protection on the real server: gunicorn with the pod's settings (one worker, the
Deployment's threads, one ONNX Runtime thread) and the heavy model, 128 clients sending 32-image
batches for 20 s while another process probes liveness and readiness every 0.2 s.

Every probe answers in under a second, every client gets an answer, every 200 is the right
answer, every 503 carries Retry-After, and the server's own counts of answers agree with the
clients' (nothing accepted is lost). Without the bound (MAX_INFLIGHT=4 or 1000) the probes took
4-7.7 s here, so this test fails (checked).
"""

from __future__ import annotations

import os
import re
import urllib.request

import pytest
from paths import MODELS, ROOT

from mlops_course.data import load_digits_split
from mlops_course.kubernetes import load_kustomization
from mlops_course.mobilenet import upsample_digits
from mlops_course.probe_load import run_probe_load
from mlops_course.runtime import OnnxRunner
from mlops_course.server_process import gunicorn_server

CLIENTS, SECONDS, BATCH = 128, 20.0, 32
PROBE_LIMIT_MS = 1000.0


def pod_settings() -> tuple[int, dict[str, str]]:
    """The Deployment's gunicorn threads and serving environment (ConfigMap, then env)."""
    rendered = {m["kind"]: m for m in load_kustomization(ROOT / "k8s" / "base")}
    settings = dict(rendered["ConfigMap"]["data"])
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    for variable in pod["containers"][0].get("env", []):
        settings[variable["name"]] = variable["value"]
    keep = ("ORT_THREADS", "MAX_INFLIGHT", "RETRY_AFTER", "MAX_BATCH")
    return int(settings["GUNICORN_THREADS"]), {k: settings[k] for k in keep if k in settings}


def served_count(metrics: str, name: str, code: str | None = None) -> float:
    """The sum of ``name`` samples for the infer route (and HTTP ``code``) in /metrics."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name + "{") and 'route="/v2/models/<name>/infer"' in line:
            if code is None or f'code="{code}"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.slow
def test_probes_answer_within_a_second_under_128_heavy_clients():
    threads, env = pod_settings()
    assert int(env["ORT_THREADS"]) == 1 and threads >= 2
    x = upsample_digits(load_digits_split().x_test[:BATCH], "uint8")
    expected = OnnxRunner(MODELS / "mobilenet" / "1" / "model.onnx").predict(x)
    with gunicorn_server(MODELS, workers=1, threads=threads, **env) as server:
        result = run_probe_load(server.url, "mobilenet", x, expected, CLIENTS, SECONDS)
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        log = server.log()
    print(result.as_dict(), "load average", os.getloadavg())
    assert result.probes >= 20 and result.probe_failures == 0, result
    assert result.probe_max_ms < PROBE_LIMIT_MS, result
    assert result.failed == 0 and result.wrong == 0, result  # no hang, no broken pipe, no 5xx
    assert result.accepted > 0 and result.refused > 0, result  # the bound was reached
    assert served_count(metrics, "http_requests_total", "200") == result.accepted
    assert served_count(metrics, "inference_rejected_total") == result.refused
    assert not re.search(r"Traceback|WORKER TIMEOUT|Error handling request", log), log[-2000:]


def test_the_harness_counts_wrong_answers_refusals_and_probes(digits, reference):
    """A short run on the small model: a wrong expectation is caught on every 200."""
    x = digits.x_test[:4]
    with gunicorn_server(MODELS, workers=1, threads=2, MAX_INFLIGHT="1") as server:
        right = run_probe_load(server.url, "digits", x, reference.predict(x), 8, 2.0)
        wrong = run_probe_load(server.url, "digits", x, reference.predict(x) + 0.5, 2, 1.0)
    assert right.accepted > 0 and right.wrong == 0 and right.failed == 0, right
    assert right.probes >= 4 and right.probe_failures == 0, right
    assert wrong.accepted > 0 and wrong.wrong == wrong.accepted, wrong
    assert "wrong answer" in wrong.examples[0]
