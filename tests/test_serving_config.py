"""The server's settings and the environment variables that set them (serving/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import MODELS

from mlops_course.serving import create_app
from mlops_course.serving.config import ServingConfig, config_from_env


def test_settings_come_from_the_environment():
    config = config_from_env({"MODEL_REPOSITORY": "elsewhere", "MAX_BATCH": "7"})
    assert config.model_repository == Path("elsewhere") and config.max_batch == 7
    assert config_from_env({}) == ServingConfig()
    with pytest.raises(ValueError, match="max_batch"):
        ServingConfig(max_batch=0)


def test_the_pin_comes_from_the_environment():
    assert config_from_env({"DEFAULT_MODEL_VERSION": "2"}).default_version == 2
    assert config_from_env({}).default_version is None


def test_providers_come_from_the_environment_and_must_exist():
    config = config_from_env({"ORT_PROVIDERS": "CUDAExecutionProvider, CPUExecutionProvider"})
    assert config.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    with pytest.raises(ValueError, match="at least one"):
        config_from_env({"ORT_PROVIDERS": " , "})
    with pytest.raises(ValueError, match=r"has no \['NoSuchExecutionProvider'\]"):
        create_app(MODELS, providers=("NoSuchExecutionProvider", "CPUExecutionProvider"))
