"""The GPU path's provider check (issue #19): a session that would run on fewer execution
providers than asked for fails in one line, unless ``ORT_ALLOW_CPU_FALLBACK=1`` allows it.

Here ONNX Runtime is the CPU build. A host with onnxruntime-gpu but no usable GPU is imitated by
making ``get_available_providers`` list CUDA: ONNX Runtime then gets CUDA in the session's
provider list, cannot start it, warns and runs on the CPU -- the silent fallback itself.
"""

import warnings

import numpy as np
import pytest
from paths import MODELS

from mlops_course import runtime

MODEL = MODELS / "digits" / "1" / "model.onnx"
# ONNX Runtime's own notice of the fallback (a UserWarning, easy to miss in a server log).
pytestmark = pytest.mark.filterwarnings("ignore:Specified provider:UserWarning")
GPU_FIRST = ("CUDAExecutionProvider", "CPUExecutionProvider")


@pytest.fixture
def cuda_listed_but_absent(monkeypatch):
    """onnxruntime says it has CUDA (as onnxruntime-gpu does) but no GPU can start it."""
    ort = runtime.import_onnxruntime()
    available = ort.get_available_providers()
    assert "CUDAExecutionProvider" not in available, "this test imitates a missing GPU"
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", *available]
    )
    monkeypatch.delenv(runtime.FALLBACK_ENV, raising=False)


def test_a_silent_fallback_to_the_cpu_fails_in_one_line(cuda_listed_but_absent):
    with pytest.raises(runtime.ProviderUnavailable) as error:
        runtime.onnx_session(MODEL, providers=GPU_FIRST)
    message = str(error.value)
    assert "['CUDAExecutionProvider']" in message and "['CPUExecutionProvider']" in message
    assert runtime.FALLBACK_ENV in message and "\n" not in message


def test_the_server_refuses_to_start_on_a_silent_fallback(cuda_listed_but_absent):
    from mlops_course.serving.app import create_app

    with pytest.raises(runtime.ProviderUnavailable, match="the session runs on"):
        create_app(MODELS, providers=GPU_FIRST)


@pytest.mark.parametrize("value", ["1", "true"])
def test_the_fallback_serves_on_the_cpu_when_asked_for(cuda_listed_but_absent, monkeypatch, value):
    monkeypatch.setenv(runtime.FALLBACK_ENV, value)
    with pytest.warns(RuntimeWarning, match="runs on"):
        runner = runtime.OnnxRunner(MODEL, providers=GPU_FIRST)
    assert runner.session.get_providers() == ["CPUExecutionProvider"]
    x = np.zeros((2, *runner.session.get_inputs()[0].shape[1:]), dtype=np.float32)
    assert runner.predict(x).shape[0] == 2


def test_a_provider_onnxruntime_lacks_fails_unless_the_fallback_is_allowed(monkeypatch):
    monkeypatch.delenv(runtime.FALLBACK_ENV, raising=False)
    with pytest.raises(runtime.ProviderUnavailable, match=r"has no \['CUDAExecutionProvider'\]"):
        runtime.onnx_session(MODEL, providers=GPU_FIRST)
    with pytest.warns(RuntimeWarning, match="runs on"):
        session = runtime.onnx_session(MODEL, providers=GPU_FIRST, allow_fallback=True)
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_the_providers_asked_for_pass_without_a_warning(monkeypatch):
    monkeypatch.delenv(runtime.FALLBACK_ENV, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session = runtime.onnx_session(MODEL)
    assert session.get_providers() == ["CPUExecutionProvider"]


class FakeSession:
    def __init__(self, providers):
        self.providers = providers

    def get_providers(self):
        return self.providers


def test_check_session_providers_reads_the_session_not_the_build(monkeypatch):
    monkeypatch.setenv(runtime.FALLBACK_ENV, "0")
    session = FakeSession(["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert runtime.check_session_providers(session, GPU_FIRST) == list(GPU_FIRST)
    with pytest.raises(runtime.ProviderUnavailable):
        runtime.check_session_providers(FakeSession(["CPUExecutionProvider"]), GPU_FIRST)
    assert not runtime.cpu_fallback_allowed()
