"""mlops_course.containers without a Docker engine: the Dockerfile parser, the build command,
and what ``engine_status`` says when no engine answers."""

from pathlib import Path

from mlops_course import containers

ROOT = Path(__file__).resolve().parents[1]

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
    steps = containers.dockerfile_instructions(DOCKERFILE)
    assert [(s.line, s.keyword) for s in steps] == [
        (2, "FROM"), (4, "RUN"), (8, "FROM"), (9, "USER"), (10, "HEALTHCHECK"), (11, "CMD"),
        (12, "ENTRYPOINT"),
    ]  # fmt: skip
    run = steps[1].arguments
    assert run.startswith("apt-get update && apt-get install") and "comment" not in run
    assert run.endswith("rm -rf /var/lib/apt/lists/*")
    assert steps[2].arguments == "python:3.11-slim"  # keywords are case-insensitive


def test_exec_form_is_a_json_list_of_strings():
    steps = {s.keyword: s for s in containers.dockerfile_instructions(DOCKERFILE)}
    assert steps["ENTRYPOINT"].exec_form == ["gunicorn", "-c", "conf.py"]
    assert steps["CMD"].exec_form is None  # shell form: /bin/sh -c runs it
    assert steps["HEALTHCHECK"].exec_form is None  # options first; not a bare list
    assert containers.Instruction(1, "CMD", '["python", 1]').exec_form is None
    assert containers.Instruction(1, "CMD", "[not json").exec_form is None


def test_a_file_ending_inside_a_continuation_keeps_its_last_instruction():
    steps = containers.dockerfile_instructions("FROM scratch\nCOPY a \\\n  /a \\\n")
    assert [(s.keyword, s.arguments) for s in steps] == [("FROM", "scratch"), ("COPY", "a /a")]


def test_the_serving_dockerfile_has_two_stages_and_ends_non_root():
    text = (ROOT / containers.DOCKERFILES[containers.SERVING_IMAGE]).read_text()
    steps = containers.dockerfile_instructions(text)
    assert [s.arguments for s in steps if s.keyword == "FROM"] == [
        "python:3.11-slim AS build",
        "python:3.11-slim",
    ]
    assert [s.arguments for s in steps if s.keyword == "USER"][-1] == "10001:10001"
    assert steps[-1].keyword == "CMD" and steps[-1].exec_form


def test_build_command_puts_options_before_the_context(monkeypatch):
    monkeypatch.setenv("DOCKER", "/usr/bin/docker")
    command = containers.build_command(
        "Dockerfile", "demo:1", version="1.2.3", context="/ctx", options=["--no-cache"]
    )
    assert command[:3] == ["/usr/bin/docker", "build", "--network=host"]
    assert command[-2:] == ["--no-cache", "/ctx"]
    assert "VERSION=1.2.3" in command and command[command.index("-t") + 1] == "demo:1"
    assert command[command.index("-f") + 1] == str(Path("/ctx") / "Dockerfile")
    assert "--no-cache" not in containers.build_command("Dockerfile", "demo:1", context="/ctx")


def test_engine_status_says_why_when_no_engine_answers(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    ok, why = containers.engine_status()
    assert ok is False and why.startswith("no Docker engine answers")
