"""mlops_course.docker_steps and the image-size helpers of mlops_course.containers, with a fake
Docker client: a step runs where it can, and says why not and what to run where it cannot."""

from pathlib import Path

import pytest

from mlops_course import containers, docker_steps


class FakeImages:
    def __init__(self, names, history=()):
        self.names, self.history_rows, self.removed = set(names), list(history), []

    def list(self, name=None, filters=None):
        if filters is not None:
            return [FakeImage("labelled", 0, [])]
        return [FakeImage(name, 0, self.history_rows)] if name in self.names else []

    def get(self, name):
        return FakeImage(name, 2_500_000, self.history_rows)

    def remove(self, image_id, force=False):
        self.removed.append(image_id)


class FakeImage:
    def __init__(self, name, size, history):
        self.id, self.attrs, self.rows = name, {"Size": size}, history

    def history(self):
        return self.rows


class FakeContainers:
    def __init__(self):
        self.removed = []

    def list(self, all=False, filters=None):
        return [self] if filters == {"label": "lesson=09"} else []

    def remove(self, force=False):
        self.removed.append(force)


class FakeClient:
    def __init__(self, names=(), history=()):
        self.images, self.containers = FakeImages(names, history), FakeContainers()


def test_a_step_runs_with_the_client_where_an_engine_answers(capsys):
    steps = docker_steps.Steps(FakeClient(), "Docker 20.10", "lesson=09")
    assert steps.run(lambda client: isinstance(client, FakeClient), "docker ps") is True
    assert capsys.readouterr().out == ""


def test_without_an_engine_a_step_says_why_and_what_to_run(capsys):
    steps = docker_steps.Steps(None, "no Docker engine answers: socket missing", "lesson=09")
    ran = []
    assert steps.run(ran.append, "docker run --rm python:3.11-slim") is None
    assert ran == [] and not steps.engine and not steps.has_image("python:3.11-slim")
    assert capsys.readouterr().out == (
        "Not run: no Docker engine answers: socket missing.\n"
        "Where it can run: docker run --rm python:3.11-slim\n"
    )


def test_a_step_that_needs_a_missing_image_or_tool_does_not_run(capsys):
    steps = docker_steps.Steps(FakeClient(names={"base:1"}), "Docker", "lesson=09")
    assert steps.missing(images=["base:1"]) is None
    assert steps.run(print, "make docker-build", images=["base:1", "serving:0.1.0"]) is None
    assert "no image serving:0.1.0 here" in capsys.readouterr().out
    assert steps.run(print, "docker push", tools=["no-such-tool-here"]) is None
    assert "no-such-tool-here is not installed here" in capsys.readouterr().out


def test_cleanup_removes_only_what_carries_the_label():
    client = FakeClient()
    docker_steps.Steps(client, "Docker", "lesson=09").cleanup()
    assert client.containers.removed == [True] and client.images.removed == ["labelled"]
    docker_steps.Steps(None, "no engine", "lesson=09").cleanup()  # nothing to do, no error


def test_connect_refuses_a_label_that_is_not_key_value():
    with pytest.raises(ValueError, match="key=value"):
        docker_steps.connect("lesson09")


def test_connect_without_an_engine_explains(monkeypatch):
    monkeypatch.setattr(containers, "engine_status", lambda: (False, "no Docker engine answers"))
    steps = docker_steps.connect("lesson=10")
    assert steps.client is None and steps.why == "no Docker engine answers"


def test_write_context_writes_the_dockerfile_and_files(tmp_path: Path):
    folder = docker_steps.write_context(tmp_path / "ctx", "FROM scratch\n", {"app.py": "print(1)"})
    assert (folder / "Dockerfile").read_text() == "FROM scratch\n"
    assert (folder / "app.py").read_text() == "print(1)"


def test_layer_sizes_are_base_first_nonempty_and_named():
    history = [  # docker history: newest first
        {"Size": 4_000_000, "CreatedBy": "COPY models /srv/models # buildkit"},
        {"Size": 0, "CreatedBy": "/bin/sh -c #(nop)  USER 10001:10001"},
        {"Size": 170_000_000, "CreatedBy": "/bin/sh -c pip install -r lock " + "x" * 80},
        {"Size": 190_000_000, "CreatedBy": ""},
    ]
    rows = containers.layer_sizes(FakeClient(history=history), "serving:1", width=30)
    assert [size for size, _ in rows] == [190.0, 170.0, 4.0]
    assert rows[0][1] == "(the base image)" and rows[2][1] == "COPY models /srv/models"
    assert rows[1][1].startswith("pip install -r lock") and len(rows[1][1]) == 30


def test_image_sizes_leave_out_absent_images():
    sizes = containers.image_sizes(FakeClient(names={"a:1"}), ["a:1", "b:2"])
    assert sizes == {"a:1": 2.5}


class Stopping:
    def __init__(self, code):
        self.code, self.calls = code, []

    def stop(self, timeout):
        self.calls.append(("stop", timeout))

    def wait(self, timeout):
        self.calls.append("wait")
        return {"StatusCode": self.code}

    def remove(self):
        self.calls.append("remove")


def test_stop_timed_stops_waits_removes_and_reports_the_exit_code():
    container = Stopping(143)
    seconds, status = containers.stop_timed(container, timeout=3)
    assert status == 143 and seconds >= 0
    assert container.calls == [("stop", 3), "wait", "remove"]
