"""The small images and probes that lessons 09 and 10 build and run, so that each cell reads as
one idea.

Introduced in notebooks/09_containers.ipynb (the build cache, ``&&`` chains and multi-stage
builds, tutorials' Dockerfiles, bind mounts); 10_publishing_images.ipynb builds ``DEPS_FIRST`` at
two versions to publish and quotes ``TUTORIAL_GPU``. Every function that needs an engine takes
the Docker SDK client (or a :class:`docker_steps.Steps`) and is run through ``Steps.run``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from mlops_course.docker_steps import Steps, write_context

#: A script run in a fresh container: the kernel, the image's OS, its own PID and its user ID.
PROBE = """\
import os, platform
release = dict(line.strip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
print("kernel:", platform.release())
print("os:", release["PRETTY_NAME"].strip('"'))
print("pid:", os.getpid())
print("uid:", os.getuid())
"""

#: The slow step (a venv stands in for ``pip install -r requirements.txt``) before the code.
DEPS_FIRST = """\
FROM python:3.11-slim
RUN python -m venv /opt/venv
WORKDIR /app
COPY app.py .
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.version="${VERSION}"
USER 10001:10001
CMD ["/opt/venv/bin/python", "app.py"]
"""
#: The same steps with the code copied first: every edit of app.py rebuilds the venv.
CODE_FIRST = DEPS_FIRST.replace(
    "RUN python -m venv /opt/venv\nWORKDIR /app\nCOPY app.py .\n",
    "WORKDIR /app\nCOPY app.py .\nRUN python -m venv /opt/venv\n",
)

#: 30 MB of random bytes stand in for a toolchain the build needs and the image does not.
SEPARATE_RUNS = """\
FROM python:3.11-slim
WORKDIR /build
RUN head -c 30000000 /dev/urandom > toolchain.bin
RUN sha256sum toolchain.bin > /opt/artifact.txt
RUN rm toolchain.bin
USER 10001:10001
"""
ONE_RUN = """\
FROM python:3.11-slim
WORKDIR /build
RUN head -c 30000000 /dev/urandom > toolchain.bin \\
 && sha256sum toolchain.bin > /opt/artifact.txt \\
 && rm toolchain.bin
USER 10001:10001
"""
MULTI_STAGE = """\
FROM python:3.11-slim AS build
WORKDIR /build
RUN head -c 30000000 /dev/urandom > toolchain.bin \\
 && sha256sum toolchain.bin > /opt/artifact.txt

FROM python:3.11-slim
COPY --from=build /opt/artifact.txt /opt/artifact.txt
USER 10001:10001
"""
SIZE_DEMOS = {"separate-runs": SEPARATE_RUNS, "one-run": ONE_RUN, "multi-stage": MULTI_STAGE}

#: A Dockerfile as CentOS-era tutorials write it.
TUTORIAL_CENTOS = """\
FROM centos:8
RUN dnf install -y python38
RUN pip install pytest
ENTRYPOINT ["/bin/bash"]
"""
#: A Flask tutorial's Dockerfile: hadolint-clean, yet root, no health check, code before deps.
TUTORIAL_FLASK = """\
FROM python:3.8
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -r requirements.txt
ENV FLASK_APP=app.py
EXPOSE 5000
CMD ["flask", "run", "--host=0.0.0.0"]
"""

#: A GPU tutorial's Dockerfile (lesson 10): old CUDA base, unpinned installs, root.
TUTORIAL_GPU = """\
FROM nvidia/cuda:11.4-cudnn8-runtime-ubuntu20.04
RUN apt-get update && apt-get install -y python3 python3-pip
COPY model.py /app/
COPY model.pt /app/
RUN pip install torch torchvision
ENV PYTHONPATH=/app
CMD ["python3", "/app/model.py"]
"""

#: Run as uid 10001 with /shared writable and /models read-only.
MOUNT_SCRIPT = """\
open("/shared/hello.txt", "w").write("written in the container\\n")
try:
    open("/models/x", "w")
except OSError as error:
    print("writing to the read-only mount:", error.strerror)
"""


def probe(client) -> dict[str, str]:
    """Run :data:`PROBE` in a fresh ``python:3.11-slim`` container; its answers, plus the
    engine's own kernel under ``"engine kernel"``."""
    out = client.containers.run(
        "python:3.11-slim", ["python", "-c", PROBE], remove=True, network_mode="host"
    ).decode()
    answers = dict(line.split(": ", 1) for line in out.splitlines())
    return {**answers, "engine kernel": client.version()["KernelVersion"]}


def engine_parts(client) -> dict[str, str]:
    """``{component: version}`` of the engine, and ``"OCI runtimes"``: the runtimes it can use."""
    parts = {part["Name"]: part["Version"] for part in client.version()["Components"]}
    return {**parts, "OCI runtimes": ", ".join(sorted(client.info().get("Runtimes", {})))}


def app_version(version: str) -> dict[str, str]:
    """The demo's ``app.py`` at ``version``; it carries a timestamp, so no earlier run's cache
    entry can match it."""
    return {"app.py": f'print("version {version}")  # written at {time.time_ns()}\n'}


def build_times(steps: Steps, work: Path, demo: str) -> dict[str, float]:
    """Seconds to build :data:`DEPS_FIRST` as ``demo:1.0.0`` from scratch, again unchanged,
    after a one-line edit of app.py (``demo:1.1.0``), and :data:`CODE_FIRST` after that edit."""
    deps = write_context(work / "deps-first", DEPS_FIRST, app_version("1.0.0"))
    times = {"from scratch": steps.build(deps, f"{demo}:1.0.0", "1.0.0", "--no-cache")}
    times["unchanged"] = steps.build(deps, f"{demo}:1.0.0", "1.0.0")
    edit = app_version("1.1.0")
    edited = write_context(deps, DEPS_FIRST, edit)
    times["one-line edit"] = steps.build(edited, f"{demo}:1.1.0", "1.1.0")
    code = write_context(work / "code-first", CODE_FIRST, edit)
    times["same edit, code first"] = steps.build(code, f"{demo}:code-first", "1.1.0")
    return times


def layer_ids(client, tag: str) -> list[str]:
    """The image's layers, by the digest of their content, base first."""
    return client.images.get(tag).attrs["RootFS"]["Layers"]


def added_sizes(steps: Steps, work: Path, demo: str) -> dict[str, float]:
    """Build each of :data:`SIZE_DEMOS` as ``demo:<name>``; the MB each adds to its base."""
    base = steps.client.images.get("python:3.11-slim").attrs["Size"]
    added = {}
    for name, text in SIZE_DEMOS.items():
        steps.build(write_context(work / name, text), f"{demo}:{name}")
        added[name] = (steps.client.images.get(f"{demo}:{name}").attrs["Size"] - base) / 1e6
    return added


def predict_digits(port: int, instances: list) -> list[int]:
    """The classes the server on 127.0.0.1:``port`` predicts for ``instances`` (nested lists, as
    lesson 07's v1 REST protocol takes them)."""
    body = json.dumps({"instances": instances}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/models/digits:predict",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return [int(p.index(max(p))) for p in json.load(answer)["predictions"]]


def mount_demo(client, shared: Path, readonly: Path, label: str) -> str:
    """Run :data:`MOUNT_SCRIPT` as uid 10001 with ``shared`` on /shared (read-write) and
    ``readonly`` on /models (read-only); what it printed."""
    for folder in (shared, readonly):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # the container's user 10001 may write here
    volumes = {
        str(shared): {"bind": "/shared", "mode": "rw"},
        str(readonly): {"bind": "/models", "mode": "ro"},
    }
    key, _, value = label.partition("=")
    out = client.containers.run(
        "python:3.11-slim",
        ["python", "-c", MOUNT_SCRIPT],
        user="10001:10001",
        volumes=volumes,
        remove=True,
        network_mode="host",
        labels={key: value},
    )
    return out.decode().strip()
