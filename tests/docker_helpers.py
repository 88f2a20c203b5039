"""Helpers for the container tests (tests/test_docker*.py): unique tags, context copies, servers.

Every image or container a test makes carries a unique suffix and is removed by that test, so
tests in several checkouts can share one engine.
"""

import json
import shutil
import uuid
from pathlib import Path

import docker
import numpy as np
import tritonclient.http as triton
from paths import ROOT

from mlops_course import __version__, containers
from mlops_course.server_process import free_port

RESULTS = ROOT / "build" / "docker"


def unique_tag(image: str, label: str = "test") -> str:
    """``image:VERSION-label-<8 hex>``: a tag no other test run uses."""
    return f"{image}:{__version__}-{label}-{uuid.uuid4().hex[:8]}"


def record(name: str, **values) -> None:
    """Keep a measurement in build/docker/<name>.json and print it in the test log."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(values, indent=2))
    print(f"{name}: {values}")


def ignore_patterns(ignore_file: Path) -> list[str]:
    """The patterns of a .dockerignore file (comments and blank lines dropped)."""
    lines = (line.strip() for line in ignore_file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def context_files(ignore_file: Path, root: Path = ROOT) -> set[str]:
    """The files ``docker build`` would send from ``root``, by the Docker SDK's own matcher."""
    return set(docker.utils.build.exclude_paths(str(root), ignore_patterns(ignore_file)))


def copy_serving_context(target: Path) -> Path:
    """A copy of what the serving build sees (its allow-list, its Dockerfile) under ``target``."""
    serving = ROOT / "docker" / "serving"
    files = context_files(serving / "Dockerfile.dockerignore")
    for name in [*files, "docker/serving/Dockerfile", "docker/serving/Dockerfile.dockerignore"]:
        if (ROOT / name).is_dir():  # the matcher lists folders too (empty ones, say)
            (target / name).mkdir(parents=True, exist_ok=True)
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def remove_image(client, tag: str) -> None:
    """Remove ``tag`` if it exists (its layers stay while another tag uses them)."""
    try:
        client.images.remove(tag, force=True)
    except docker.errors.ImageNotFound:
        pass


def run_server(client, tag: str, **options):
    """Start ``tag`` on the host network at a free loopback port; returns (container, address).
    ``options`` go to ``containers.run`` (``read_only=True``, ``tmpfs={"/tmp": ""}``)."""
    port = free_port()
    container = client.containers.run(
        tag,
        detach=True,
        network_mode="host",
        environment={"BIND": f"127.0.0.1:{port}"},
        name=f"mlops-test-{uuid.uuid4().hex[:10]}",
        **options,
    )
    return container, f"127.0.0.1:{port}"


def infer_digits(address: str, x: np.ndarray) -> np.ndarray:
    """The digits model's probabilities for ``x``, through the server's v2 protocol."""
    client = triton.InferenceServerClient(address)
    tensor = triton.InferInput("images", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=True)
    answer = client.infer(
        "digits", [tensor], outputs=[triton.InferRequestedOutput("probabilities")]
    )
    return answer.as_numpy("probabilities")


def build_serving(client, tag: str, context: Path | None = None) -> str:
    """Build docker/serving/Dockerfile as ``tag`` (from ``context``, default the checkout)."""
    containers.build_image(containers.DOCKERFILES[containers.SERVING_IMAGE], tag, context=context)
    return tag
