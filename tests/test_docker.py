"""The Dockerfiles: lint-clean, policy-clean, and (with an engine) built, run and published.

Tests marked ``docker`` need a Docker engine: without one they skip and say why, unless
``REQUIRE_DOCKER=1`` (CI) turns the skip into a failure. Images are built against whatever
``python:3.11-slim`` the engine has; in CI that is a stand-in (see .ci/docker-engine).
"""

import re
import urllib.error
import urllib.request

import docker
import numpy as np
import pytest
from docker_helpers import (
    context_files,
    infer_digits,
    record,
    remove_image,
    run_server,
    unique_tag,
)
from import_graph import import_graph, module_files, serving_closure
from paths import ROOT

from mlops_course import __version__, containers, dockerfiles, image_registry
from mlops_course.policy import checkov, checkov_path
from mlops_course.server_process import free_port

DOCKERFILES = sorted(
    p for p in (ROOT / "docker").glob("*/Dockerfile*") if p.suffix != ".dockerignore"
)
# nbval on the lessons as `make test` runs it, but inside the course image
NBVAL_LESSONS = [
    "python",
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    "tests/nbval_sanitize.cfg",
    "notebooks",
]

BAD_DOCKERFILE = """\
FROM python
MAINTAINER someone@example.com
ADD . /app
RUN apt-get update && apt-get install -y curl
RUN pip install flask
CMD python /app/serve.py
"""


def test_all_four_dockerfiles_exist():
    names = {str(p.relative_to(ROOT)) for p in DOCKERFILES}
    assert names == {
        "docker/course/Dockerfile",
        "docker/edgetpu-compiler/Dockerfile",
        "docker/serving/Dockerfile",
        "docker/serving/Dockerfile.gpu",
    }


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_is_hadolint_clean(dockerfile):
    findings = dockerfiles.hadolint(dockerfile)
    assert not findings, "\n".join(map(str, findings))


def test_hadolint_flags_the_seed_style_mistakes():
    codes = {finding.code for finding in dockerfiles.hadolint(text=BAD_DOCKERFILE)}
    # untagged base, MAINTAINER, ADD, unpinned apt and pip, shell-form CMD
    assert {"DL3006", "DL4000", "DL3020", "DL3008", "DL3013", "DL3025"} <= codes


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_ignored_rule_says_why(dockerfile):
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if match := re.match(r"#\s*hadolint ignore=(\S+)", line):
            reason = " ".join(lines[max(0, number - 3) : number])
            assert all(rule in reason for rule in match[1].split(",")), (
                f"{dockerfile.name}:{number + 1}: say why {match[1]} is ignored, just above"
            )


@pytest.fixture(scope="module")
def checkov_available():
    if checkov_path() is None:
        pytest.skip("checkov is not installed here (make setup puts it in .venv-checkov)")


@pytest.mark.slow
def test_checkov_passes_on_every_dockerfile(checkov_available):
    report = checkov(DOCKERFILES, "dockerfile")
    assert report.clean and report.skipped == 0, "\n".join(report.failures)


def test_checkov_fails_a_bad_dockerfile(checkov_available, tmp_path):
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    report = checkov([tmp_path / "Dockerfile"], "dockerfile")
    failed = {failure.split()[0] for failure in report.failures}
    assert {"CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_4"} <= failed  # healthcheck, user, ADD


def test_serving_context_keeps_notebooks_venvs_and_tests_out():
    for ignore in ("Dockerfile.dockerignore", "Dockerfile.gpu.dockerignore"):
        files = context_files(ROOT / "docker" / "serving" / ignore)
        assert "requirements/serving.lock" in files and "models/digits/1/card.json" in files
        assert "src/mlops_course/serving/app.py" in files
        leaked = [f for f in files if f.split("/")[0] in {"notebooks", "tests", ".venv", ".git"}]
        assert not leaked, leaked[:5]


@pytest.mark.slow
def test_serving_image_ships_exactly_what_the_server_imports():
    """The serving context holds the package modules serving/ needs, transitively, and no more:
    a module left out breaks the image at import, one too many is code the server never runs."""
    needed = {
        str(path.relative_to(ROOT))
        for name, path in module_files().items()
        if name in serving_closure(import_graph())
    }
    for ignore in ("Dockerfile.dockerignore", "Dockerfile.gpu.dockerignore"):
        files = context_files(ROOT / "docker" / "serving" / ignore)
        shipped = {f for f in files if f.startswith("src/") and f.endswith(".py")}
        assert shipped == needed, (ignore, sorted(shipped ^ needed))


def test_course_context_has_the_course_but_no_machine_state():
    files = context_files(ROOT / ".dockerignore")
    assert "notebooks/01_linear_regression.ipynb" in files and "labs" in {
        f.split("/")[0] for f in files
    }
    assert not [f for f in files if f.split("/")[0] in {".venv", ".venv-checkov", ".git", "build"}]


# --- with a Docker engine ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def serving_image(docker_client):
    """The serving image under a tag of this run's own, removed afterwards."""
    tag = unique_tag(containers.SERVING_IMAGE)
    containers.build_image(containers.DOCKERFILES[containers.SERVING_IMAGE], tag)
    base = docker_client.images.get("python:3.11-slim").labels.get(
        "org.opencontainers.image.description", "official python:3.11-slim"
    )
    size = containers.image_size_mb(docker_client, tag)
    record("serving-image", tag=tag, size_mb=round(size, 1), base=base)
    try:
        yield tag
    finally:
        remove_image(docker_client, tag)


@pytest.fixture(scope="module")
def server(docker_client, serving_image):
    container, address = run_server(docker_client, serving_image)
    try:
        containers.wait_healthy(container)
        yield container, address
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_serving_image_is_healthy_and_answers(server, digits, reference):
    _, address = server
    with urllib.request.urlopen(f"http://{address}/v2/health/ready", timeout=5) as answer:
        assert answer.status == 200
    x = digits.x_test[:16]
    np.testing.assert_allclose(infer_digits(address, x), reference.predict(x), atol=1e-5)
    with pytest.raises(urllib.error.HTTPError) as bad:  # bad input still gets a clean 4xx
        urllib.request.urlopen(f"http://{address}/v2/models/nope/infer", data=b"{}", timeout=5)
    assert bad.value.code == 404


@pytest.mark.docker
def test_serving_image_runs_as_non_root(server):
    container, _ = server
    assert containers.exec_output(container, ["id", "-u"]) == "10001"
    assert container.attrs["Config"]["User"] == "10001:10001"


@pytest.mark.docker
def test_serving_image_carries_its_version_and_has_no_tensorflow(
    docker_client, serving_image, server
):
    container, _ = server
    labels = containers.labels(docker_client, serving_image)
    assert labels["org.opencontainers.image.version"] == __version__
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", labels["org.opencontainers.image.revision"])
    code, _ = container.exec_run(["python", "-c", "import tensorflow"])
    assert code != 0, "the serving image must not ship TensorFlow"


@pytest.mark.docker
def test_serving_image_size(docker_client, serving_image):
    size = containers.image_size_mb(docker_client, serving_image)
    assert size < 400, f"serving image is {size:.0f} MB; target < 400 MB"


@pytest.mark.docker
def test_publish_to_a_local_registry_and_pull_back(docker_client, serving_image, digits, reference):
    with image_registry.LocalRegistry(free_port()) as registry:
        repository, _, tag = serving_image.partition(":")
        remote = f"{registry.address}/{repository}"
        image = docker_client.images.get(serving_image)
        image.tag(remote, tag=tag)
        for line in docker_client.images.push(remote, tag=tag, stream=True, decode=True):
            assert "error" not in line, line
        assert containers.SERVING_IMAGE in registry.catalog()["repositories"]
        docker_client.images.remove(f"{remote}:{tag}")
        docker_client.images.remove(serving_image, force=True)
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(serving_image)
        pulled = docker_client.images.pull(remote, tag=tag)
        pulled.tag(repository, tag=tag)  # back under its own name
        container, address = run_server(docker_client, f"{remote}:{tag}")
        try:
            containers.wait_healthy(container)
            x = digits.x_test[:4]
            np.testing.assert_allclose(infer_digits(address, x), reference.predict(x), atol=1e-5)
        finally:
            container.remove(force=True)
            docker_client.images.remove(f"{remote}:{tag}")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_course_image_passes_nbval_on_the_lessons(docker_client):
    tag = unique_tag(containers.COURSE_IMAGE, "nbval")
    try:
        containers.build_image(containers.DOCKERFILES[containers.COURSE_IMAGE], tag, timeout=3000)
        record(
            "course-image", tag=tag, size_mb=round(containers.image_size_mb(docker_client, tag), 1)
        )
        container = docker_client.containers.run(
            tag, entrypoint=["tini", "--", *NBVAL_LESSONS], detach=True, network_mode="host"
        )
        try:
            status = container.wait(timeout=1500)
            log = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
    finally:
        remove_image(docker_client, tag)
    print(log[-3000:])
    assert status["StatusCode"] == 0, log[-6000:]


CORAL_APT = "https://packages.cloud.google.com/apt/dists/coral-edgetpu-stable/Release"


@pytest.mark.docker
def test_edgetpu_compiler_image_where_corals_repository_answers(docker_client):
    try:
        urllib.request.urlopen(CORAL_APT, timeout=5).close()
    except OSError as error:
        pytest.skip(
            f"Coral's apt repository does not answer here ({error}); the image cannot build"
        )
    tag = "mlops-course/edgetpu-compiler"
    containers.build_image("Dockerfile", tag, context=ROOT / "docker" / "edgetpu-compiler")
    output = docker_client.containers.run(tag, ["--version"], remove=True, network_mode="none")
    assert b"Edge TPU Compiler version 16" in output


@pytest.mark.docker
def test_gpu_serving_image_where_the_cuda_base_can_be_pulled(docker_client):
    dockerfile = ROOT / "docker" / "serving" / "Dockerfile.gpu"
    base = re.search(r"^FROM (\S+)", dockerfile.read_text(), re.M)[1]
    try:
        docker_client.images.get(base)
    except docker.errors.ImageNotFound:
        try:
            docker_client.images.pull(base)
        except docker.errors.APIError as error:
            reason = getattr(error, "explanation", None) or str(error)
            pytest.skip(f"{base} cannot be pulled here ({reason[:160]}); build it where it can")
    tag = f"{containers.SERVING_IMAGE}:{__version__}-gpu"
    containers.build_image("docker/serving/Dockerfile.gpu", tag)
    record(
        "serving-gpu-image", tag=tag, size_mb=round(containers.image_size_mb(docker_client, tag))
    )
    assert containers.labels(docker_client, tag)["org.opencontainers.image.version"] == __version__
