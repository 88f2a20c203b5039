"""Nothing the course runs phones home: ONNX Runtime's usage telemetry stays off.

ONNX Runtime 1.31 on Linux writes a device id and an event database under
``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` unless ``ORT_DISABLE_TELEMETRY=1`` is set before
it is imported. Each test runs with a fresh ``HOME`` and without the variable, so only the course's
own code can turn telemetry off.
"""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from paths import ROOT

from mlops_course.server_process import gunicorn_server

MODEL = ROOT / "models" / "digits" / "1" / "model.onnx"
TELEMETRY = Path(".cache") / "Microsoft" / "DeveloperTools" / ".onnxruntime"


def run_python(code: str, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(home)}, check=True)


def test_onnxruntime_records_telemetry_when_nothing_stops_it(tmp_path):
    """The control: this is what the course prevents (and proves the check below can see it)."""
    run_python("import onnxruntime", tmp_path)
    if not (tmp_path / TELEMETRY).exists():
        pytest.skip("this onnxruntime build records no telemetry here; nothing to prevent")
    assert (tmp_path / TELEMETRY / "deviceid").is_file()


def test_the_package_runs_a_model_without_telemetry(tmp_path):
    code = (
        "import numpy as np\n"
        "from mlops_course.runtime import OnnxRunner\n"
        f"OnnxRunner({str(MODEL)!r}).predict(np.zeros((1, 8, 8, 1), np.float32))\n"
    )
    run_python(code, tmp_path)
    assert not (tmp_path / ".cache").exists()


@pytest.mark.slow
def test_the_package_quantizes_a_model_without_telemetry(tmp_path):
    code = (
        "from mlops_course.convert import quantize_onnx_dynamic\n"
        f"quantize_onnx_dynamic({str(MODEL)!r}, {str(tmp_path / 'int8.onnx')!r})\n"
    )
    run_python(code, tmp_path)
    assert (tmp_path / "int8.onnx").is_file()
    assert not (tmp_path / ".cache").exists()


def test_the_server_answers_without_telemetry(tmp_path, monkeypatch):
    monkeypatch.delenv("ORT_DISABLE_TELEMETRY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with gunicorn_server(ROOT / "models", workers=1) as server:
        with urllib.request.urlopen(f"{server.url}/v2/models/digits/ready", timeout=10) as reply:
            assert reply.status == 200
    assert not (tmp_path / ".cache").exists()
