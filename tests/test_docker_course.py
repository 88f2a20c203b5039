"""The course image a student runs (issue #19): tini as PID 1 reaps orphans, the environment
belongs to the student (``%pip install`` works), and the health check follows ``JUPYTER_PORT``.

The static checks read docker/course/Dockerfile; the ``docker`` ones build it (big: ~2.7 GB, most
of it one cached layer) and run it on a port other than 8888. Names carry a unique suffix and
every image and container is removed.
"""

import base64
import hashlib
import io
import re
import tarfile
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
from docker_helpers import record, remove_image, unique_tag
from paths import ROOT

from mlops_course import containers
from mlops_course.dockerfiles import dockerfile_facts, dockerfile_instructions
from mlops_course.server_process import free_port

COURSE = ROOT / containers.DOCKERFILES[containers.COURSE_IMAGE]
PORT_ENV = "JUPYTER_PORT"
#: States of every process in the container, from /proc (the image has no ps): "PID STATE NAME".
PROCESSES = [
    "python",
    "-c",
    "import glob\n"
    "for stat in glob.glob('/proc/[0-9]*/stat'):\n"
    "    try: pid, rest = open(stat).read().split(' (', 1)\n"
    "    except OSError: continue\n"
    "    name, state = rest.rsplit(') ', 1)[0], rest.rsplit(') ', 1)[1].split()[0]\n"
    "    print(pid, state, name)",
]
#: A child that leaves an orphan behind: the inner shell exits at once, its `sleep` lives on,
#: is re-parented to PID 1, and ends a second later. Only an init collects its exit status.
ORPHAN = ["sh", "-c", "sh -c 'sleep 1 &'"]


def test_the_course_image_runs_tini_as_pid_1():
    steps = dockerfile_instructions(COURSE.read_text())
    entrypoint = [s for s in steps if s.keyword == "ENTRYPOINT"][-1].exec_form
    assert entrypoint[:2] == ["tini", "--"] and entrypoint[2:4] == ["jupyter", "lab"]
    assert any(
        "install" in s.arguments and " tini" in s.arguments for s in steps if s.keyword == "RUN"
    )


def test_the_port_comes_from_one_variable():
    text = COURSE.read_text()
    facts = dockerfile_facts(text)
    port = facts.env[PORT_ENV]
    assert facts.expose == [int(port)]
    assert f"os.environ['{PORT_ENV}']" in " ".join(facts.healthcheck["command"])
    steps = dockerfile_instructions(text)
    started = [s.arguments for s in steps if s.keyword in {"ENTRYPOINT", "CMD", "HEALTHCHECK"}]
    assert not [s for s in started if port in s], "the port is written out; use $JUPYTER_PORT"


def test_the_venv_is_made_by_the_student_not_root():
    steps = dockerfile_instructions(COURSE.read_text())
    made = next(
        i
        for i, s in enumerate(steps)
        if s.keyword == "RUN" and re.search(r"\bvenv\b.* /opt/venv\b", s.arguments)
    )
    users = [s.arguments for s in steps[:made] if s.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any("-o student" in s.arguments and "/opt/venv" in s.arguments for s in steps[:made])


def tiny_wheel(folder: Path) -> Path:
    """A pure-Python wheel, ``hello_course``, written by hand: something to install offline."""
    files = {
        "hello_course/__init__.py": b"GREETING = 'installed by the student'\n",
        "hello_course-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: hello-course\n"
        b"Version: 0.1\n",
        "hello_course-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record_lines = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{name},sha256={digest},{len(data)}")
    record_lines.append("hello_course-0.1.dist-info/RECORD,,")
    files["hello_course-0.1.dist-info/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    wheel = folder / "hello_course-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def put_file(container, path: Path, folder: str) -> str:
    """Copy ``path`` into ``folder`` in the container (world-readable); its path there."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tar.gettarinfo(str(path), arcname=path.name)
        info.mode, info.uid, info.gid = 0o644, 0, 0
        tar.addfile(info, path.open("rb"))
    container.put_archive(folder, buffer.getvalue())
    return f"{folder}/{path.name}"


def zombies(container) -> list[str]:
    listing = containers.exec_output(container, PROCESSES).splitlines()
    return [line for line in listing if line.split()[1] == "Z"]


@pytest.fixture(scope="module")
def course_image(docker_client):
    tag = unique_tag(containers.COURSE_IMAGE)
    containers.build_image(containers.DOCKERFILES[containers.COURSE_IMAGE], tag, timeout=3000)
    record("course-image", tag=tag, size_mb=round(containers.image_size_mb(docker_client, tag), 1))
    try:
        yield tag
    finally:
        remove_image(docker_client, tag)


def run_course(client, tag: str, **options):
    """The course image on the host network, JupyterLab on a free port other than 8888."""
    port = free_port()
    container = client.containers.run(
        tag,
        detach=True,
        network_mode="host",
        environment={PORT_ENV: str(port)},
        name=f"mlops-test-course-{uuid.uuid4().hex[:10]}",
        **options,
    )
    return container, port


@pytest.fixture(scope="module")
def lab(docker_client, course_image):
    container, port = run_course(docker_client, course_image)
    try:
        containers.wait_healthy(container, timeout=180)
        yield container, port
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_health_check_follows_the_port(lab):
    container, port = lab
    assert port != 8888
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=5) as answer:
        assert answer.status == 200
    container.reload()
    assert container.attrs["State"]["Health"]["Status"] == "healthy"


@pytest.mark.docker
@pytest.mark.slow
def test_pid_1_is_tini_and_reaps_orphans(lab):
    container, _ = lab
    assert containers.exec_output(container, ["cat", "/proc/1/comm"]) == "tini"
    containers.exec_output(container, ORPHAN)
    time.sleep(3)
    assert not zombies(container)


@pytest.mark.docker
@pytest.mark.slow
def test_without_an_init_the_orphan_stays_a_zombie(docker_client, course_image):
    """The control: JupyterLab itself as PID 1 (the image as it was) leaves the orphan <defunct>."""
    entrypoint = ["jupyter", "lab", "--no-browser", "--ip=127.0.0.1"]
    container, _ = run_course(docker_client, course_image, entrypoint=entrypoint)
    try:
        containers.wait_healthy(container, timeout=180)
        assert containers.exec_output(container, ["cat", "/proc/1/comm"]) != "tini"
        containers.exec_output(container, ORPHAN)
        time.sleep(3)
        found = zombies(container)
        record("course-zombies-without-init", zombies=found)
        assert found, "this control expects JupyterLab as PID 1 not to reap"
    finally:
        container.remove(force=True)


@pytest.mark.docker
@pytest.mark.slow
def test_the_student_can_pip_install_into_the_environment(lab, tmp_path):
    container, _ = lab
    assert containers.exec_output(container, ["stat", "-c", "%U", "/opt/venv"]) == "student"
    wheel = put_file(container, tiny_wheel(tmp_path), "/tmp")
    containers.exec_output(container, ["python", "-m", "pip", "install", "--no-index", wheel])
    greeting = containers.exec_output(
        container, ["python", "-c", "import hello_course; print(hello_course.GREETING)"]
    )
    assert greeting == "installed by the student"
