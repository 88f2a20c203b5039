"""Fixtures shared by several test modules."""

from pathlib import Path

import pytest

from mlops_course.data import load_digits_split
from mlops_course.runtime import OnnxRunner

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="session")
def digits():
    """The course's digits split (NHWC float32 in [0, 1]), as lesson 05 makes it."""
    return load_digits_split()


@pytest.fixture(scope="session")
def reference():
    """In-process ONNX Runtime on the committed digits model: what the server must agree with."""
    return OnnxRunner(MODELS / "digits" / "1" / "model.onnx")
