"""``make edgetpu`` (``python -m mlops_course.edgetpu build``): convert into build/edgetpu/, then
compile where a compiler exists; without one, one line says why and the exit status is 0.

The conversion is real (TensorFlow, slow); the compiler is a fake on PATH that behaves like the
real tool (it writes ``<stem>_edgetpu.tflite`` where ``--out_dir`` says, or fails).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from paths import MODELS

from mlops_course.edgetpu import __main__ as cli
from mlops_course.edgetpu.build import build
from mlops_course.edgetpu.ready import READY_FILE

DIGITS = MODELS / "digits" / "1"
LOG = "Edge TPU Compiler version 16.0.384591198\nModel compiled successfully in 12 ms.\n"


def fake_compiler(folder: Path, body: str) -> None:
    path = folder / "edgetpu_compiler"
    path.write_text(f"#!{sys.executable}\nimport pathlib, sys\n{body}")
    path.chmod(0o755)


def run_build(out: Path) -> tuple[int, list[str]]:
    lines: list[str] = []
    return build(out, DIGITS, log=lines.append), lines


@pytest.mark.slow
def test_without_a_compiler_it_converts_says_why_in_one_line_and_exits_0(empty_path, tmp_path):
    out = tmp_path / "build" / "edgetpu"
    status, lines = run_build(out)
    assert status == 0
    assert (out / READY_FILE).read_bytes()[4:8] == b"TFL3"
    assert "preflight: compatible" in lines[0]
    (why,) = [line for line in lines if line.startswith("edgetpu: not compiled")]
    assert "edgetpu_compiler is not on PATH" in why and "docker is not installed" in why
    assert any("--platform linux/amd64" in line for line in lines)
    assert not list(out.glob("*_edgetpu.tflite"))


@pytest.mark.slow
def test_with_a_compiler_the_compiled_file_lands_in_the_build_folder(empty_path, tmp_path):
    fake_compiler(
        empty_path,
        "out = pathlib.Path(sys.argv[sys.argv.index('--out_dir') + 1])\n"
        "(out / (pathlib.Path(sys.argv[-1]).stem + '_edgetpu.tflite')).write_bytes(b'x')\n"
        f"print({LOG!r})\n",
    )
    out = tmp_path / "edgetpu"
    status, lines = run_build(out)
    assert status == 0, lines
    assert (out / "model_int8_batch1_edgetpu.tflite").is_file()
    assert "compiled with Edge TPU Compiler 16.0.384591198" in lines[-1]


@pytest.mark.slow
def test_a_compiler_that_fails_makes_the_build_fail(empty_path, tmp_path):
    fake_compiler(empty_path, "print('Model not quantized')\nsys.exit(1)\n")
    status, lines = run_build(tmp_path / "edgetpu")
    assert status == 1 and "Model not quantized" in lines[-1]


def test_build_without_a_model_version_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["build", "--models", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "run make model" in err and len(err.splitlines()) == 1


def test_the_compiler_images_commands_name_the_platform_and_the_runtime():
    folder = MODELS.parent / "docker" / "edgetpu-compiler"
    for name in ("Dockerfile", "README.md"):
        text = (folder / name).read_text()
        assert "docker build --platform linux/amd64" in text, name
        assert "docker run --platform linux/amd64" in text, name
        assert "--min_runtime_version 14" in text, name
    readme = (folder / "README.md").read_text()
    assert "1a6e:089a" in readme and "18d1:9302" in readme and "--device /dev/bus/usb " in readme
