"""Fixtures shared by several test modules."""

import os
from pathlib import Path

import pytest
from paths import MODELS

from mlops_course.data import load_digits_split
from mlops_course.runtime import OnnxRunner


@pytest.fixture(scope="session")
def digits():
    """The course's digits split (NHWC float32 in [0, 1]), as lesson 05 makes it."""
    return load_digits_split()


@pytest.fixture(scope="session")
def reference():
    """In-process ONNX Runtime on the committed digits model: what the server must agree with."""
    return OnnxRunner(MODELS / "digits" / "1" / "model.onnx")


@pytest.fixture(scope="module")
def app():
    """The model server's Flask app on the committed models, with the serving tests' limits
    (``serving_helpers.make_app``); one per test module."""
    from serving_helpers import make_app  # Flask and prometheus_client only where needed

    return make_app()


@pytest.fixture
def client(app):
    """Flask's test client for :func:`app`."""
    return app.test_client()


@pytest.fixture(scope="session")
def docker_client():
    """A Docker engine, or a skip saying why there is none (a failure when ``REQUIRE_DOCKER=1``).

    CI sets ``REQUIRE_DOCKER=1`` after starting an engine, so a broken engine cannot pass as a skip.
    """
    from mlops_course.containers import DockerUnavailable, engine

    try:
        return engine()
    except DockerUnavailable as error:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 but {error}")
        pytest.skip(f"{error}; start Docker to run this (CI does)")


@pytest.fixture
def empty_path(tmp_path, monkeypatch) -> Path:
    """PATH with nothing on it but what a test puts there."""
    tools = tmp_path / "bin"
    tools.mkdir()
    monkeypatch.setenv("PATH", str(tools))
    return tools
