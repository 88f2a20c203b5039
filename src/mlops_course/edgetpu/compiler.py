"""Run the real Edge TPU compiler when this machine has one, and otherwise say exactly how.

``edgetpu_compiler`` is a closed-source x86-64 Linux binary from Google's Coral apt repository.
It is used when it is on ``PATH``, or through the course's compiler image (built from
``docker/edgetpu-compiler``) when that image exists and a Docker engine answers. Its console
log is parsed into a :class:`CompileLog`. Where neither exists, nothing runs: the functions say
why and return the exact commands to run on a machine that has them. This module never writes a
``*_edgetpu.tflite`` itself; only the compiler does, and a result only points at that file when
it really exists.

Introduced in notebooks/12_edge_tpu.ipynb.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

COMPILER = "edgetpu_compiler"
#: The tag the course gives the image built from docker/edgetpu-compiler.
IMAGE = "mlops-course/edgetpu-compiler"
DOCKERFILE_DIR = "docker/edgetpu-compiler"
TIMEOUT_S = 300
#: The compiler exists only for x86-64: on an arm64 host (Apple Silicon) Docker must build and run
#: the amd64 image under emulation, or the build fails (no arm64 package in Coral's repository).
PLATFORM = "linux/amd64"
#: Compiler 16's output needs Edge TPU runtime (libedgetpu) 14 or newer; stated explicitly so the
#: log says so. ``-m 13`` targets an older runtime (some operations may then stay on the CPU).
MIN_RUNTIME_VERSION = 14
FLAGS = ("--show_operations", "--min_runtime_version", str(MIN_RUNTIME_VERSION))


@dataclass(frozen=True)
class CompilerStatus:
    """Which compiler this machine can run: ``how`` is "path", "docker" or None."""

    how: str | None
    reason: str

    @property
    def available(self) -> bool:
        return self.how is not None


def _answers(command: list[str], timeout: float = 20) -> tuple[bool, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    text = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, text[-1] if text else f"exit status {done.returncode}"


def find_compiler(image: str = IMAGE) -> CompilerStatus:
    """Look for ``edgetpu_compiler`` on PATH, then for ``image`` in a Docker engine that answers.

    Introduced in notebooks/12_edge_tpu.ipynb.
    """
    if shutil.which(COMPILER):
        return CompilerStatus("path", f"{COMPILER} is on PATH ({shutil.which(COMPILER)})")
    reasons = [f"{COMPILER} is not on PATH"]
    if shutil.which("docker") is None:
        reasons.append("docker is not installed")
    else:
        engine, detail = _answers(["docker", "info", "--format", "{{.ServerVersion}}"])
        if not engine:
            reasons.append(f"no Docker engine answers ({detail})")
        elif not _answers(["docker", "image", "inspect", image])[0]:
            reasons.append(f"the Docker engine has no image {image} (build it first)")
        else:
            return CompilerStatus("docker", f"Docker image {image} (engine {detail})")
    return CompilerStatus(None, "; ".join(reasons))


def compiled_name(model: str | Path) -> str:
    """The file name the compiler writes for ``model``: ``<stem>_edgetpu.tflite``."""
    return f"{Path(model).stem}_edgetpu.tflite"


def compile_commands(model: str | Path, image: str = IMAGE) -> dict[str, list[str]]:
    """The exact shell commands that compile ``model`` into its own folder, per route.

    Introduced in notebooks/12_edge_tpu.ipynb. ``"path"``: the compiler installed on the host;
    ``"docker"``: build the course image once, then run the compiler in it with the model's
    folder bind-mounted at /models (no network, files owned by you).
    """
    model = Path(model)
    folder = model.parent.as_posix() or "."
    mount = f'"$PWD/{folder}"' if not model.parent.is_absolute() else shlex.quote(folder)
    name = shlex.quote(model.name)
    flags = " ".join(FLAGS)
    return {
        "path": [
            f"{COMPILER} {flags} --out_dir {shlex.quote(folder)} {shlex.quote(model.as_posix())}"
        ],
        "docker": [
            f"docker build --platform {PLATFORM} -t {image} {DOCKERFILE_DIR}",
            f"docker run --platform {PLATFORM} --rm --network none "
            f'--user "$(id -u):$(id -g)" -v {mount}:/models -w /models '
            f"--entrypoint {COMPILER} {image} {flags} --out_dir /models {name}",
        ],
    }


@dataclass(frozen=True)
class OperatorLine:
    """One row of the compiler's operator table (``-s``/``--show_operations``)."""

    op: str
    count: int
    status: str


@dataclass(frozen=True)
class CompileLog:
    """What the compiler's console log says, parsed."""

    version: str | None = None
    succeeded: bool = False
    error: str | None = None
    output_model: str | None = None
    edgetpu_subgraphs: int | None = None
    total_ops: int | None = None
    ops_on_edgetpu: int | None = None
    ops_on_cpu: int | None = None
    operators: list[OperatorLine] = field(default_factory=list)


_FIELDS = {
    "version": re.compile(r"^Edge TPU Compiler version (\S+)", re.M),
    "output_model": re.compile(r"^Output model: (.+)$", re.M),
    "edgetpu_subgraphs": re.compile(r"^Number of Edge TPU subgraphs: (\d+)", re.M),
    "total_ops": re.compile(r"^Total number of operations: (\d+)", re.M),
    "ops_on_edgetpu": re.compile(r"^Number of operations that will run on Edge TPU: (\d+)", re.M),
    "ops_on_cpu": re.compile(r"^Number of operations that will run on CPU: (\d+)", re.M),
}
_TABLE_HEADER = re.compile(r"^Operator\s+Count\s+Status\s*$", re.M)
_OPERATOR = re.compile(r"^([A-Z][A-Z0-9_]+)\s+(\d+)\s+(\S.*?)\s*$", re.M)
_ERRORS = (
    re.compile(r"^(Model not quantized)\s*$", re.M),
    re.compile(r"^ERROR: (.+?)\s*$", re.M),
    re.compile(r"^(Invalid model: .+?)\s*$", re.M),
    re.compile(r"^(Internal compiler error.*?)\s*$", re.M),
)


def parse_compiler_log(text: str) -> CompileLog:
    """Parse ``edgetpu_compiler``'s console output (the format of compiler 15 and 16).

    Introduced in notebooks/12_edge_tpu.ipynb. When the log has no "will run on" lines (every
    operation mapped), the counts come from the operator table.
    """
    values: dict[str, object] = {}
    for key, pattern in _FIELDS.items():
        match = pattern.search(text)
        if match:
            values[key] = match[1].strip() if key in ("version", "output_model") else int(match[1])
    header = _TABLE_HEADER.search(text)
    table = text[header.end() :] if header else ""
    operators = [OperatorLine(m[1], int(m[2]), m[3]) for m in _OPERATOR.finditer(table)]
    mapped = sum(o.count for o in operators if o.status == "Mapped to Edge TPU")
    if operators and "ops_on_edgetpu" not in values:
        values["ops_on_edgetpu"] = mapped
        values["ops_on_cpu"] = sum(o.count for o in operators) - mapped
    error = next((m[1] for pattern in _ERRORS for m in [pattern.search(text)] if m), None)
    succeeded = bool(re.search(r"^Model compiled successfully", text, re.M)) and error is None
    return CompileLog(operators=operators, succeeded=succeeded, error=error, **values)


@dataclass(frozen=True)
class CompileResult:
    """One compile attempt: whether the compiler ran, its log, and the file it really wrote."""

    ran: bool
    reason: str
    commands: dict[str, list[str]]
    returncode: int | None = None
    log: CompileLog | None = None
    output: Path | None = None

    def summary(self) -> str:
        if not self.ran:
            lines = [f"not compiled: {self.reason}", "run one of these where the tools exist:"]
            for route, commands in self.commands.items():
                lines += [f"  # {route}"] + [f"  {c}" for c in commands]
            return "\n".join(lines)
        log = self.log or CompileLog()
        if self.output is not None:
            return (
                f"compiled with Edge TPU Compiler {log.version}: {self.output.name}, "
                f"{log.ops_on_edgetpu} of {log.total_ops} operations on the Edge TPU"
            )
        return f"the compiler ran ({self.reason}) but produced no model: {log.error or 'see log'}"


def compile_model(
    model: str | Path, image: str = IMAGE, timeout: float = TIMEOUT_S
) -> CompileResult:
    """Compile ``model`` with the real compiler if this machine has one; never fake the result.

    Introduced in notebooks/12_edge_tpu.ipynb. The compiled file goes beside the model. When no
    compiler is available, ``ran`` is False and ``commands`` holds what to run elsewhere.
    """
    model = Path(model)
    commands = compile_commands(model, image)
    status = find_compiler(image)
    if not status.available:
        return CompileResult(False, status.reason, commands)
    folder = model.parent.resolve()
    if status.how == "path":
        argv = [COMPILER, *FLAGS, "--out_dir", str(folder), str(model.resolve())]
    else:
        argv = [
            *("docker", "run", "--platform", PLATFORM, "--rm", "--network", "none"),
            *("--user", f"{os.getuid()}:{os.getgid()}", "-v", f"{folder}:/models"),
            *("-w", "/models", "--entrypoint", COMPILER, image),
            *(*FLAGS, "--out_dir", "/models", model.name),
        ]
    expected = folder / compiled_name(model)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CompileResult(True, f"{status.how}: timed out after {timeout:.0f} s", commands)
    log = parse_compiler_log(done.stdout + "\n" + done.stderr)
    output = expected if done.returncode == 0 and log.succeeded and expected.is_file() else None
    reason = f"{status.how}, exit status {done.returncode}"
    if done.returncode == 0 and log.succeeded and output is None:
        reason += f"; the log reports success but {expected.name} does not exist"
    return CompileResult(True, reason, commands, done.returncode, log, output)
