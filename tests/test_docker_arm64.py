"""The serving image on a second architecture: built for linux/arm64 and run under QEMU user
emulation (Debian's qemu-user-static with binfmt_misc), it must answer as the amd64 one does.

The base is an arm64 stand-in for python:3.11-slim that .ci/arm64-base bootstraps from Debian
(about ten minutes under QEMU, so `make docker-arm64` builds it, not `make test`). These tests skip,
saying why, where arm64 code cannot run here or that base has not been built; once it exists, the
BuildKit cache makes the serving build cheap.
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_docker import infer_digits, run_server

from mlops_course import __version__, containers

ROOT = Path(__file__).resolve().parents[1]
BASE = "mlops-course-platform/python-arm64:3.11-slim"
TAG = f"mlops-course-platform/serving-arm64:{__version__}"
DOCKERFILE = ROOT / "build/arm64/Dockerfile.serving"


def arm64_dockerfile() -> str:
    """docker/serving/Dockerfile with its base swapped for the arm64 stand-in (and its allow-list)."""
    source = ROOT / "docker/serving/Dockerfile"
    text, count = re.subn(r"^FROM python:3\.11-slim\b", f"FROM {BASE}", source.read_text(), flags=re.M)
    assert count == 2, "both stages start from python:3.11-slim"
    DOCKERFILE.parent.mkdir(parents=True, exist_ok=True)
    DOCKERFILE.write_text(text)
    ignore = source.with_name("Dockerfile.dockerignore").read_text()
    DOCKERFILE.with_name("Dockerfile.serving.dockerignore").write_text(ignore)
    return str(DOCKERFILE.relative_to(ROOT))


@pytest.fixture(scope="module")
def arm64_image(docker_client):
    check = subprocess.run([ROOT / ".ci/arm64-base", "check"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(check.stdout.strip() or check.stderr.strip())
    try:
        base = docker_client.images.get(BASE)
    except Exception:  # docker.errors.ImageNotFound
        pytest.skip(f"{BASE} is not built: `make docker-arm64` builds it (~10 min under QEMU)")
    assert base.attrs["Architecture"] == "arm64"
    containers.build_image(arm64_dockerfile(), TAG, options=["--platform", "linux/arm64"])
    return TAG


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first build installs the serving lock under QEMU
def test_arm64_serving_image_is_arm64_and_answers_like_amd64(
    docker_client, arm64_image, digits, reference
):
    image = docker_client.images.get(arm64_image)
    assert (image.attrs["Os"], image.attrs["Architecture"]) == ("linux", "arm64")
    container, address = run_server(docker_client, arm64_image)
    try:
        containers.wait_healthy(container, timeout=240)  # Python under QEMU starts slowly
        machine = container.exec_run(["python", "-c", "import platform; print(platform.machine())"])
        assert machine.output.decode().strip() == "aarch64"
        x = digits.x_test[:16]
        got = infer_digits(address, x)
        np.testing.assert_allclose(got, reference.predict(x), atol=1e-5)
        assert (got.argmax(axis=1) == digits.y_test[:16]).mean() >= 0.9
        print(f"arm64 serving image: {len(x)} digits, argmax {got.argmax(axis=1).tolist()}")
    finally:
        container.remove(force=True)
