"""The Edge TPU compiler wrapper: honest when no compiler exists, real parsing when one does.

No real ``edgetpu_compiler`` exists on the course's machines, so the "compiler present" paths run
against FAKE ``edgetpu_compiler`` / ``docker`` scripts put first on PATH. They print FIXTURE logs:
text modelled on the console format of the real Edge TPU Compiler 16.0.384591198 as quoted in
google-coral/edgetpu issues #222, #433, #845 and #879, with numbers made up for these tests. The
fakes write no model file, and the tests assert that the course code never writes one either.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from paths import ROOT

from mlops_course.edgetpu import __main__ as cli
from mlops_course.edgetpu.compiler import (
    IMAGE,
    compile_commands,
    compile_model,
    compiled_name,
    find_compiler,
    parse_compiler_log,
)

INT8 = ROOT / "models" / "digits" / "1" / "model_int8.tflite"

# FIXTURE (invented numbers, real format): a model where every operation maps.
FIXTURE_ALL_MAPPED = """\
Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 31 ms.

Input model: digits_edgetpu.tflite
Input size: 151.48KiB
Output model: digits_edgetpu_edgetpu.tflite
Output size: 217.30KiB
On-chip memory used for caching model parameters: 150.25KiB
On-chip memory remaining for caching model parameters: 7.82MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 7
Operation log: digits_edgetpu_edgetpu.log

Operator                       Count      Status

CONV_2D                        2          Mapped to Edge TPU
MAX_POOL_2D                    1          Mapped to Edge TPU
RESHAPE                        1          Mapped to Edge TPU
FULLY_CONNECTED                2          Mapped to Edge TPU
SOFTMAX                        1          Mapped to Edge TPU
Compilation child process completed within timeout period.
Compilation succeeded!
"""

# FIXTURE (invented numbers, real format): part of the model stays on the CPU.
FIXTURE_PARTIAL = """\
Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 42 ms.

Input model: partial.tflite
Input size: 80.91KiB
Output model: partial_edgetpu.tflite
Output size: 120.78KiB
On-chip memory used for caching model parameters: 3.00KiB
On-chip memory remaining for caching model parameters: 7.86MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 5
Operation log: partial_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage \
of the model will instead run on the CPU, which is slower. If possible, consider updating your \
model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: 2
Number of operations that will run on CPU: 3

Operator                       Count      Status

CONV_2D                        1          Mapped to Edge TPU
LEAKY_RELU                     1          Operation not supported
RESHAPE                        1          More than one subgraph is not supported
FULLY_CONNECTED                1          More than one subgraph is not supported
QUANTIZE                       1          Mapped to Edge TPU
Compilation child process completed within timeout period.
Compilation succeeded!
"""

# FIXTURE (real wording, from tutorials and google-coral/edgetpu issue reports): the two classic
# refusals.
FIXTURE_NOT_QUANTIZED = """\
Edge TPU Compiler version 16.0.384591198
Invalid model: model_fp32.tflite
Model not quantized
"""
FIXTURE_OP_VERSION = """\
Edge TPU Compiler version 16.0.384591198
ERROR: Didn't find op for builtin opcode 'QUANTIZE' version '3'. An older version of this \
builtin might be supported. Are you using an old TFLite binary with a newer model?

ERROR: Registration failed.

Invalid model: quantized_model.tflite
Model could not be parsed
"""


# --- parsing ------------------------------------------------------------------------------


def test_parse_a_fully_mapped_log_counts_from_the_operator_table():
    log = parse_compiler_log(FIXTURE_ALL_MAPPED)
    assert log.version == "16.0.384591198" and log.succeeded and log.error is None
    assert log.output_model == "digits_edgetpu_edgetpu.tflite"
    assert (log.edgetpu_subgraphs, log.total_ops) == (1, 7)
    assert [(o.op, o.count) for o in log.operators][:2] == [("CONV_2D", 2), ("MAX_POOL_2D", 1)]
    assert (log.ops_on_edgetpu, log.ops_on_cpu) == (7, 0)


def test_parse_a_partial_log_reads_the_cpu_split_and_the_statuses():
    log = parse_compiler_log(FIXTURE_PARTIAL)
    assert log.succeeded and (log.ops_on_edgetpu, log.ops_on_cpu) == (2, 3)
    statuses = {o.op: o.status for o in log.operators}
    assert statuses["LEAKY_RELU"] == "Operation not supported"
    assert statuses["RESHAPE"] == "More than one subgraph is not supported"
    assert len(log.operators) == 5


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (FIXTURE_NOT_QUANTIZED, "Model not quantized"),
        (FIXTURE_OP_VERSION, "Didn't find op for builtin opcode 'QUANTIZE' version '3'."),
    ],
)
def test_parse_failures_give_the_compilers_own_reason(text, error):
    log = parse_compiler_log(text)
    assert not log.succeeded
    assert log.error is not None and log.error.startswith(error)
    assert log.operators == [] and log.total_ops is None


def test_parse_does_not_invent_anything_from_unrelated_text():
    log = parse_compiler_log("bash: edgetpu_compiler: command not found\n")
    assert not log.succeeded and log.version is None and log.operators == []


# --- no compiler: say so, print the exact commands, write nothing --------------------------


def test_commands_for_a_relative_model_are_exact():
    commands = compile_commands(Path("models/digits/1/model_int8.tflite"))
    assert commands["path"] == [
        "edgetpu_compiler --show_operations --min_runtime_version 14 --out_dir models/digits/1 "
        "models/digits/1/model_int8.tflite"
    ]
    assert commands["docker"] == [
        f"docker build --platform linux/amd64 -t {IMAGE} docker/edgetpu-compiler",
        "docker run --platform linux/amd64 --rm --network none --user "
        '"$(id -u):$(id -g)" -v "$PWD/models/digits/1":/models -w /models '
        f"--entrypoint edgetpu_compiler {IMAGE} --show_operations --min_runtime_version 14 "
        "--out_dir /models model_int8.tflite",
    ]
    assert compiled_name("a/b/model_int8.tflite") == "model_int8_edgetpu.tflite"


@pytest.fixture
def model(tmp_path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    target = folder / "digits.tflite"
    target.write_bytes(INT8.read_bytes())
    return target


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*")}


def test_without_compiler_or_docker_nothing_runs_and_commands_are_returned(empty_path, model):
    before = _files(model.parent)
    result = compile_model(model)
    assert not result.ran and result.output is None and result.log is None
    assert "edgetpu_compiler is not on PATH" in result.reason
    assert "docker is not installed" in result.reason
    summary = result.summary()
    assert "not compiled" in summary and "edgetpu_compiler --show_operations" in summary
    assert f"docker build --platform linux/amd64 -t {IMAGE} docker/edgetpu-compiler" in summary
    assert _files(model.parent) == before


def test_cli_compile_without_a_compiler_exits_3_and_prints_the_commands(empty_path, model, capsys):
    assert cli.main(["compile", str(model)]) == cli.EXIT_NO_COMPILER
    out = capsys.readouterr().out
    assert "edgetpu_compiler is not on PATH" in out
    assert "docker run --platform linux/amd64 --rm" in out
    assert not list(model.parent.glob("*_edgetpu.tflite"))


# --- a fake compiler on PATH: the compile + parse path is taken ----------------------------


def _fake_tool(folder: Path, name: str, script: str) -> Path:
    """A Python script named ``name`` on PATH that records its arguments beside itself."""
    path = folder / name
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(folder / (name + '.calls'))!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        + script
    )
    path.chmod(0o755)
    return path


def _calls(folder: Path, name: str) -> list[list[str]]:
    path = folder / f"{name}.calls"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_compiler_on_path_is_run_and_its_log_parsed(empty_path, model):
    _fake_tool(empty_path, "edgetpu_compiler", f"print({FIXTURE_ALL_MAPPED!r})\n")
    assert find_compiler().how == "path"
    result = compile_model(model)
    assert result.ran and result.returncode == 0
    assert result.log is not None and result.log.version == "16.0.384591198"
    assert result.log.ops_on_edgetpu == 7
    (argv,) = _calls(empty_path, "edgetpu_compiler")
    assert argv[:5] == [
        "--show_operations",
        "--min_runtime_version",
        "14",
        "--out_dir",
        str(model.parent.resolve()),
    ]
    assert argv[-1] == str(model.resolve())
    # The fake wrote no file, and the course code must not pretend it did (nor write one).
    assert result.output is None and "does not exist" in result.reason
    assert not list(model.parent.parent.rglob("*_edgetpu.tflite"))
    assert "produced no model" in result.summary()


def test_a_failing_compiler_reports_its_own_error(empty_path, model, capsys):
    _fake_tool(empty_path, "edgetpu_compiler", f"print({FIXTURE_NOT_QUANTIZED!r})\nsys.exit(1)\n")
    result = compile_model(model)
    assert result.ran and result.returncode == 1 and result.output is None
    assert result.log is not None and result.log.error == "Model not quantized"
    assert cli.main(["compile", str(model)]) == cli.EXIT_NOT_COMPATIBLE
    assert "Model not quantized" in capsys.readouterr().out
    assert not list(model.parent.glob("*_edgetpu.tflite"))


def test_a_file_the_compiler_really_writes_is_reported(empty_path, model):
    # This fake behaves like the real tool: it writes its output where --out_dir says.
    writes = (
        "import pathlib\n"
        "out = pathlib.Path(sys.argv[sys.argv.index('--out_dir') + 1])\n"
        "name = pathlib.Path(sys.argv[-1]).stem + '_edgetpu.tflite'\n"
        "(out / name).write_bytes(b'written by the fake compiler')\n"
        f"print({FIXTURE_ALL_MAPPED!r})\n"
    )
    _fake_tool(empty_path, "edgetpu_compiler", writes)
    result = compile_model(model)
    assert result.output == model.parent.resolve() / "digits_edgetpu.tflite"
    assert result.output.read_bytes() == b"written by the fake compiler"
    assert "compiled with Edge TPU Compiler 16.0.384591198" in result.summary()


# --- Docker: an engine without the image is not a compiler; with it, the image runs ---------

_FAKE_DOCKER = """
args = sys.argv[1:]
if args[:1] == ["info"]:
    print("27.5.1")
elif args[:2] == ["image", "inspect"]:
    sys.exit(0 if HAVE_IMAGE else 1)
elif args[:1] == ["run"]:
    print(LOG)
else:
    sys.exit(2)
"""


@pytest.mark.parametrize("have_image", [False, True])
def test_docker_route_needs_the_engine_and_the_image(empty_path, model, have_image):
    script = f"HAVE_IMAGE = {have_image}\nLOG = {FIXTURE_ALL_MAPPED!r}\n" + _FAKE_DOCKER
    _fake_tool(empty_path, "docker", script)
    status = find_compiler()
    result = compile_model(model)
    if not have_image:
        assert status.how is None and f"has no image {IMAGE}" in status.reason
        assert not result.ran and not any(c[0] == "run" for c in _calls(empty_path, "docker"))
        return
    assert status.how == "docker"
    assert result.ran and result.log is not None and result.log.total_ops == 7
    run = next(c for c in _calls(empty_path, "docker") if c[0] == "run")
    assert f"{model.parent.resolve()}:/models" in run
    assert run[run.index("--entrypoint") + 1] == "edgetpu_compiler"
    assert run[run.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert run[-3:] == ["--out_dir", "/models", model.name]
    assert run[run.index("--platform") + 1] == "linux/amd64"
    assert run[run.index("--min_runtime_version") + 1] == "14"
    assert result.output is None
