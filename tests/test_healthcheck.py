"""The serving image's HEALTHCHECK command, against a real gunicorn and against nothing."""

import pytest
from paths import MODELS

from mlops_course.server_process import free_port, gunicorn_server
from mlops_course.serving import healthcheck


def test_live_url_reads_the_bind_address():
    assert healthcheck.live_url("0.0.0.0:8000") == "http://127.0.0.1:8000/v2/health/live"
    assert healthcheck.live_url("127.0.0.2:9") == "http://127.0.0.2:9/v2/health/live"
    with pytest.raises(ValueError, match="HOST:PORT"):
        healthcheck.live_url("8000")


def test_exit_status_follows_the_server(monkeypatch, capsys):
    port = free_port()
    monkeypatch.setenv("BIND", f"127.0.0.1:{port}")
    assert healthcheck.main(timeout=1) == 1  # nothing listens yet
    assert "not live" in capsys.readouterr().err
    with gunicorn_server(MODELS, port=port, workers=1):
        assert healthcheck.main() == 0
    monkeypatch.setenv("BIND", "nonsense")
    assert healthcheck.main() == 1
