"""mlops_course.containers without a Docker engine: the Dockerfile parser, the choice of a
docker client that can build (with fake ``docker`` scripts), the build command, and what
``engine_status`` says when no engine answers."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

from mlops_course import containers, dockerfiles, project

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build

RUN apt-get update \\
    # a comment inside a continuation is dropped, as Docker does
 && apt-get install --yes --no-install-recommends git \\
 && rm -rf /var/lib/apt/lists/*
from python:3.11-slim
USER 10001:10001
HEALTHCHECK --interval=10s CMD ["python", "-m", "health"]
CMD python app.py
ENTRYPOINT ["gunicorn", "-c", "conf.py"]
"""


def test_instructions_join_continuations_and_drop_comments():
    steps = dockerfiles.dockerfile_instructions(DOCKERFILE)
    assert [(s.line, s.keyword) for s in steps] == [
        (2, "FROM"),
        (4, "RUN"),
        (8, "FROM"),
        (9, "USER"),
        (10, "HEALTHCHECK"),
        (11, "CMD"),
        (12, "ENTRYPOINT"),
    ]
    run = steps[1].arguments
    assert run.startswith("apt-get update && apt-get install") and "comment" not in run
    assert run.endswith("rm -rf /var/lib/apt/lists/*")
    assert steps[2].arguments == "python:3.11-slim"  # keywords are case-insensitive


def test_exec_form_is_a_json_list_of_strings():
    steps = {s.keyword: s for s in dockerfiles.dockerfile_instructions(DOCKERFILE)}
    assert steps["ENTRYPOINT"].exec_form == ["gunicorn", "-c", "conf.py"]
    assert steps["CMD"].exec_form is None  # shell form: /bin/sh -c runs it
    assert steps["HEALTHCHECK"].exec_form is None  # options first; not a bare list
    assert dockerfiles.Instruction(1, "CMD", '["python", 1]').exec_form is None
    assert dockerfiles.Instruction(1, "CMD", "[not json").exec_form is None


def test_a_file_ending_inside_a_continuation_keeps_its_last_instruction():
    steps = dockerfiles.dockerfile_instructions("FROM scratch\nCOPY a \\\n  /a \\\n")
    assert [(s.keyword, s.arguments) for s in steps] == [("FROM", "scratch"), ("COPY", "a /a")]


def test_the_serving_dockerfile_builds_in_stages_and_ends_non_root():
    text = (ROOT / containers.DOCKERFILES[containers.SERVING_IMAGE]).read_text()
    steps = dockerfiles.dockerfile_instructions(text)
    assert [s.arguments for s in steps if s.keyword == "FROM"] == [
        "python:3.11-slim AS deps",  # the venv with the locked dependencies
        "deps AS code",  # the course package, installed apart into /opt/code
        "deps AS venv",  # the venv without pip and setuptools
        "python:3.11-slim",
    ]
    assert [s.arguments for s in steps if s.keyword == "USER"][-1] == "10001:10001"
    assert [s for s in steps if s.keyword == "CMD"][-1].exec_form


def fake_docker(folder: Path, version: str, buildx: bool = False) -> Path:
    """A ``docker`` script in ``folder`` that prints ``version`` and has buildx or not; it logs
    every other command to ``folder/calls`` and exits 1, so a build through it is seen."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = --version ] && {{ echo "Docker version {version}"; exit 0; }}\n'
        f'[ "$1 $2" = "buildx version" ] && exit {0 if buildx else 1}\n'
        f'echo "$@" >> "{folder}/calls"; exit 1\n'
    )
    script.chmod(0o755)
    return script


@pytest.fixture
def only(monkeypatch, tmp_path):
    """PATH made of the given folders only, no ``$DOCKER``, and no /usr/bin/docker to fall
    back on (it exists on machines with Debian's docker.io)."""
    monkeypatch.delenv("DOCKER", raising=False)
    monkeypatch.setattr(containers, "DEBIAN_DOCKER", str(tmp_path / "no-usr-bin" / "docker"))

    def set_path(*folders: Path) -> None:
        monkeypatch.setenv("PATH", os.pathsep.join(map(str, folders)))

    return set_path


NEW = "28.2.2, build e6534b4"  # the machine image's /usr/local/bin/docker
DEBIAN = "20.10.24+dfsg1, build 297e128"  # bookworm's docker.io


def test_a_new_client_without_buildx_is_refused_in_one_line(only, tmp_path):
    new = fake_docker(tmp_path / "local", NEW)
    only(new.parent)
    with pytest.raises(containers.NoBuildKitClient) as refused:
        containers.docker_cli()
    message = str(refused.value)
    assert "\n" not in message and f"tried {new} (28.2.2 without the buildx plugin)" in message
    assert "apt-get install docker.io" in message and "buildx plugin" in message
    assert "DOCKER=" in message
    with pytest.raises(containers.NoBuildKitClient):  # build_image refuses before building
        containers.build_image("Dockerfile", "demo:1", context=tmp_path)
    assert not (new.parent / "calls").exists()


def test_the_first_client_that_can_build_is_chosen_along_the_path(only, tmp_path):
    new = fake_docker(tmp_path / "local", NEW)
    debian = fake_docker(tmp_path / "usr", DEBIAN)
    only(new.parent, debian.parent)
    assert containers.docker_cli() == str(debian)  # 20.10: BuildKit built in
    with_buildx = fake_docker(tmp_path / "buildx", NEW, buildx=True)
    only(with_buildx.parent, debian.parent)
    assert containers.docker_cli() == str(with_buildx)  # 28.x with the buildx plugin


def test_usr_bin_docker_is_tried_when_not_on_the_path(only, monkeypatch, tmp_path):
    only(fake_docker(tmp_path / "local", NEW).parent)
    debian = fake_docker(tmp_path / "usr-bin", DEBIAN)
    monkeypatch.setattr(containers, "DEBIAN_DOCKER", str(debian))
    assert containers.docker_cli() == str(debian)


def test_docker_is_honoured_but_still_checked(only, monkeypatch, tmp_path):
    debian = fake_docker(tmp_path / "usr", DEBIAN)
    with_buildx = fake_docker(tmp_path / "buildx", NEW, buildx=True)
    only(debian.parent)
    monkeypatch.setenv("DOCKER", str(with_buildx))
    assert containers.docker_cli() == str(with_buildx)  # not the first on the PATH
    new = fake_docker(tmp_path / "local", NEW)
    monkeypatch.setenv("DOCKER", str(new))
    refused = f"^DOCKER={re.escape(str(new))} cannot build"
    with pytest.raises(containers.NoBuildKitClient, match=refused):
        containers.docker_cli()  # no fallback to the PATH's 20.10 client


def test_the_client_command_prints_the_choice_or_the_one_line_error(only, tmp_path, capsys):
    new = fake_docker(tmp_path / "local", NEW)
    only(new.parent)
    assert containers.main(["client"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: no docker client") and err.count("\n") == 1
    debian = fake_docker(tmp_path / "usr", DEBIAN)
    only(new.parent, debian.parent)
    assert containers.main(["client"]) == 0
    assert capsys.readouterr().out == f"{debian}\n"


def test_build_command_puts_options_before_the_context(monkeypatch, tmp_path):
    debian = fake_docker(tmp_path, DEBIAN)
    monkeypatch.setenv("DOCKER", str(debian))
    command = containers.build_command(
        "Dockerfile", "demo:1", version="1.2.3", context="/ctx", options=["--no-cache"]
    )
    assert command[:3] == [str(debian), "build", "--network=host"]
    assert command[-2:] == ["--no-cache", "/ctx"]
    assert "VERSION=1.2.3" in command and command[command.index("-t") + 1] == "demo:1"
    assert command[command.index("-f") + 1] == str(Path("/ctx") / "Dockerfile")
    assert "--no-cache" not in containers.build_command("Dockerfile", "demo:1", context="/ctx")


def test_engine_status_says_why_when_no_engine_answers(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    ok, why = containers.engine_status()
    assert ok is False and why.startswith("no Docker engine answers")


def test_revision_is_the_checkouts_commit_or_unknown(tmp_path):
    assert containers.revision() == project.git_commit(ROOT)
    assert len(containers.revision()) == 40
    assert containers.revision(tmp_path) == "unknown"  # not a git checkout


def test_dockerfile_facts_reads_the_last_stage():
    text = """FROM python:3.11 AS build
USER root
FROM python:3.11-slim
ENV A=1 \\
    B="two words"
COPY --from=build /opt/venv /opt/venv
COPY models /srv/models
USER 10001:10001
EXPOSE 8000/tcp
HEALTHCHECK --interval=1m --timeout=500ms --retries=2 CMD ["python", "-m", "x"]
"""
    facts = dockerfiles.dockerfile_facts(text)
    assert facts.user == "10001:10001" and facts.expose == [8000]
    assert facts.env == {"A": "1", "B": "two words"}
    assert facts.copies == [("/opt/venv", "/opt/venv"), ("models", "/srv/models")]
    health = {"interval": 60.0, "timeout": 0.5, "retries": 2, "command": ["python", "-m", "x"]}
    assert facts.healthcheck == health
    assert dockerfiles.duration_seconds("1m30s") == 90.0
    with pytest.raises(dockerfiles.DockerfileError, match="no FROM"):
        dockerfiles.dockerfile_facts("RUN echo no base\n")


def test_dockerfile_facts_expands_variables_in_expose():
    text = "FROM scratch\nENV PORT=8888 OTHER=9\nEXPOSE ${PORT} $OTHER/udp\n"
    assert dockerfiles.dockerfile_facts(text).expose == [8888, 9]
    with pytest.raises(dockerfiles.DockerfileError, match=r"\$NOPE is not set"):
        dockerfiles.dockerfile_facts("FROM scratch\nEXPOSE ${NOPE}\n")


def test_the_module_imports_only_the_standard_library(tmp_path):
    """`PYTHONPATH=src python3 -m mlops_course.containers client` (the Makefile) needs no venv."""
    code = (
        "import sys; import mlops_course.containers; "
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['__main__', 'mlops_course']"
