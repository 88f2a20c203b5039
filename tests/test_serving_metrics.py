"""``/metrics`` under gunicorn adds up every worker (prometheus_client's multiprocess mode), in a
metrics folder made fresh for each server start and removed when it stops.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from paths import MODELS

from mlops_course.server_process import ServerProcess, free_port, gunicorn_command
from mlops_course.serving import create_app
from mlops_course.serving.metrics import MULTIPROC_DIR

ROUTE = "/v2/health/live"


def server(workers: int = 2, **env: str) -> ServerProcess:
    """gunicorn with an access log that names the worker (its pid) answering each request."""
    port = free_port()
    command = gunicorn_command(port, workers=workers, threads=2)
    command[-1:-1] = ["--access-logformat", "worker=%(p)s %(U)s"]
    env = {"MODEL_REPOSITORY": str(MODELS), "ACCESS_LOG": "-", **env}
    return ServerProcess(command, port, env=env)


def workers_that_answered(log: str) -> set[str]:
    return set(re.findall(rf"worker=<(\d+)> {re.escape(ROUTE)}\b", log))


def sample(text: str, name: str, route: str = ROUTE) -> float:
    """One sample's value in the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and f'route="{route}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def requests_counted(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=5).text
    return sample(text, "http_requests_total")


def metrics_folder(log: str) -> Path:
    match = re.search(r"workers share their metrics in (\S+)", log)
    assert match, log
    return Path(match[1])


def test_metrics_count_every_request_whichever_worker_answered_it():
    with server(workers=2) as running:
        sent = 0
        while sent < 1000 and len(workers_that_answered(running.log())) < 2:
            for _ in range(10):  # a new connection each time: the kernel picks the worker
                answer = requests.get(
                    running.url + ROUTE, headers={"Connection": "close"}, timeout=5
                )
                assert answer.status_code == 200
            sent += 10
        assert len(workers_that_answered(running.log())) == 2, "one worker answered everything"
        for _ in range(4):  # whichever worker answers the scrape, it reports both workers' sum
            text = requests.get(f"{running.url}/metrics", timeout=5).text
            assert sample(text, "http_requests_total") == sent
            assert sample(text, "http_request_duration_seconds_count") == sent


def test_each_start_gets_a_fresh_temporary_folder_removed_at_exit(tmp_path):
    scratch = tmp_path / "tmp"  # as TMPDIR: the only writable place in a read-only container
    scratch.mkdir()
    folders = []
    for _ in range(2):
        with server(workers=1, TMPDIR=str(scratch)) as running:
            requests.get(running.url + ROUTE, timeout=5)
            folder = metrics_folder(running.log())
            assert folder.parent == scratch and any(folder.glob("*.db"))
            assert requests_counted(running.url) == 1
            folders.append(folder)
        assert not folder.exists()
    assert folders[0] != folders[1]
    assert not list(scratch.glob("mlops-course-metrics-*"))


def test_a_named_folder_is_emptied_at_start(tmp_path):
    folder = tmp_path / "metrics"  # e.g. an emptyDir that outlives a container restart
    for expected in (3, 2):
        with server(workers=1, **{MULTIPROC_DIR: str(folder)}) as running:
            assert metrics_folder(running.log()) == folder
            for _ in range(expected):
                requests.get(running.url + ROUTE, timeout=5)
            assert requests_counted(running.url) == expected  # not 3 + 2
        assert any(folder.glob("*.db")), "a folder the operator chose is kept"


def test_multiprocess_mode_needs_the_variable_before_prometheus_client_is_imported(
    monkeypatch, tmp_path
):
    monkeypatch.setenv(MULTIPROC_DIR, str(tmp_path))  # too late: prometheus_client is loaded
    with pytest.raises(RuntimeError, match="imported before"):
        create_app(MODELS)
