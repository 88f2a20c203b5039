"""Build and run the course's container images (Dockerfiles are read in ``dockerfiles``, images
published through ``image_registry``).

The Docker SDK for Python (``docker``) drives the engine: run, inspect, tag, push, pull. Builds
go through the ``docker`` command line with BuildKit, because only BuildKit reads the
per-Dockerfile ``Dockerfile.dockerignore`` files that keep notebooks and venvs out of the serving
image's context; the SDK's build call uses the legacy builder. :func:`docker_cli` chooses a client
that can build with BuildKit (``$DOCKER`` if set, else the first such ``docker`` on the PATH or
``/usr/bin/docker``); ``python -m mlops_course.containers client`` prints its choice for the
Makefile and CI.

Introduced in notebooks/09_containers.ipynb.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mlops_course import __version__, project

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


def revision(folder: str | Path | None = None) -> str:
    """The git commit checked out at ``folder`` (default: the course checkout), or ``unknown``."""
    return project.git_commit(folder or project.root()) or "unknown"


def build_command(
    dockerfile: str,
    tag: str,
    version: str = __version__,
    context: str | Path | None = None,
    options: Sequence[str] = (),
) -> list[str]:
    """``docker build`` for ``dockerfile`` in ``context`` (default: the course checkout), on the
    host network (CI's engine has no bridge); ``options`` (``["--no-cache"]``, ``["--target",
    "build"]``) go before the context."""
    context = Path(context) if context is not None else project.root()
    return [
        *(docker_cli(), "build", "--network=host", "-f", str(context / dockerfile)),
        *("--build-arg", f"VERSION={version}", "--build-arg", f"REVISION={revision(context)}"),
        *("-t", tag, *options, str(context)),
    ]


def build_image(
    dockerfile: str,
    tag: str,
    version: str = __version__,
    context: str | Path | None = None,
    timeout: float = 1800,
    options: Sequence[str] = (),
) -> subprocess.CompletedProcess:
    """Build ``dockerfile`` (relative to ``context``, by default the course checkout) with
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


def image_sizes(client, names: Iterable[str]) -> dict[str, float]:
    """``{name: MB}`` for each of ``names`` the engine holds; absent images are left out."""
    return {name: image_size_mb(client, name) for name in names if client.images.list(name=name)}


def layer_sizes(client, tag: str, width: int = 60) -> list[tuple[float, str]]:
    """The image's non-empty layers, base first, as ``(MB, the instruction that made it)``, from
    ``docker history``; an imported base has no instruction and reads ``(the base image)``."""
    rows = []
    for row in reversed(client.images.get(tag).history()):
        if row["Size"] > 0:
            made_by = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", row["CreatedBy"]).strip()
            made_by = made_by.removesuffix("# buildkit").strip() or "(the base image)"
            rows.append(
                (
                    row["Size"] / 1e6,
                    made_by if len(made_by) <= width else made_by[: width - 1] + "…",
                )
            )
    return rows


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


def stop_timed(container, timeout: float = 10) -> tuple[float, int]:
    """``docker stop`` the container, then remove it: (seconds the stop took, exit code)."""
    start = time.perf_counter()
    container.stop(timeout=timeout)
    seconds = time.perf_counter() - start
    status = container.wait(timeout=timeout)["StatusCode"]
    container.remove()
    return seconds, status


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
